import Foundation
import Testing

/// berthd's root on a filesystem that fills up (a tmpfs of a fixed size, made by the test): each
/// operation that writes there fails with Docker's "no space left on device", leaves the store as
/// it was (no partial blob, no record without its files, the log still rotated within its bound),
/// and works again once space is freed.
@Suite(.serialized) struct DiskFullTests {
    static let image = ContainerLifecycleTests.image
    static let noSpace = "no space left on device"

    /// A daemon whose `--root` is a tmpfs of `megabytes`, with the busybox images loaded.
    static func withSmallDisk(megabytes: Int, _ body: (DaemonFixture, SmallDisk) async throws -> Void) async throws {
        let built = try TestImageTests.build(into: nil)
        let daemon = try DaemonFixture()
        try FileManager.default.createDirectory(atPath: daemon.root, withIntermediateDirectories: true)
        try Command.succeed(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "berth-test-disk", daemon.root])
        defer {
            daemon.stop()
            daemon.removeContainers()
            umount2(daemon.root, Int32(MNT_DETACH))
            daemon.tearDown()
        }
        try daemon.start()
        let archive = daemon.scratch + "/busybox.tar"
        try Command.succeed(["tar", "-cf", archive, "-C", built.layout, "."])
        try Command.succeed(["docker", "-H", daemon.host, "load", "-i", archive])
        try await body(daemon, SmallDisk(path: daemon.root))
    }

    /// Fills the disk with one file until `bytes` are left; `free()` takes it away.
    struct SmallDisk {
        let path: String
        var filler: String { path + "/filler" }

        /// What is free moves while containers write: a filler that no longer fits is measured again.
        func leave(_ bytes: Int64) throws {
            free()
            for _ in 0..<10 {
                var info = statvfs()
                guard statvfs(path, &info) == 0 else { throw TestFailure("statvfs \(path): \(errno)") }
                let available = Int64(info.f_bavail) * Int64(info.f_frsize)
                guard available > bytes else { throw TestFailure("only \(available) bytes free on \(path), wanted more than \(bytes)") }
                if try Command.run(["fallocate", "-l", "\(available - bytes)", filler]).status == 0 { return }
                free()
            }
            throw TestFailure("could not fill \(path)")
        }

        func free() {
            unlink(filler)
        }
    }

    static func docker(_ daemon: DaemonFixture, _ arguments: [String], input: Data? = nil, timeout: TimeInterval = 120) throws
        -> Command.Result
    {
        try ContainerLifecycleTests.docker(daemon, arguments, input: input, timeout: timeout)
    }

    /// No partial download or unpack is left, and every blob is whole.
    static func expectWholeStore(_ daemon: DaemonFixture, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ingest = (try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/content/ingest")) ?? []
        #expect(ingest.isEmpty, "partial downloads left: \(ingest)", sourceLocation: sourceLocation)
        let staging = try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/snapshots").filter { $0.hasPrefix(".") }
        #expect(staging.isEmpty, "unfinished layers left: \(staging)", sourceLocation: sourceLocation)
        let blobs = daemon.root + "/content/blobs/sha256"
        for blob in try FileManager.default.contentsOfDirectory(atPath: blobs) {
            let sum = try Command.succeed(["sha256sum", blobs + "/" + blob])
            #expect(sum.hasPrefix(blob), "blob \(blob) is not whole", sourceLocation: sourceLocation)
        }
    }

    /// Stopped, the daemon's store passes `berthd --check` with nothing left to repair; started again.
    static func expectCheckPasses(_ daemon: DaemonFixture, sourceLocation: SourceLocation = #_sourceLocation) throws {
        daemon.stop()
        let check = try Command.run([TestPaths.berthd, "--check", "--root", daemon.root, "--exec-root", daemon.execRoot])
        #expect(check.status == 0 && check.stdout.hasSuffix("consistent\n"), "\(check)", sourceLocation: sourceLocation)
        try daemon.start()
    }

    static func imageIDs(_ daemon: DaemonFixture) throws -> Set<String> {
        Set(try docker(daemon, ["images", "-aq", "--no-trunc"]).stdout.split(separator: "\n").map(String.init))
    }

    /// A pull whose layer does not fit: the registry holds an image of 24 MB of random bytes.
    @Test func pullFailsWithNoSpaceAndCompletesOnceFreed() async throws {
        try await Self.withSmallDisk(megabytes: 160) { daemon, disk in
            try await RegistryFixture.with { registry in
                let name = "\(registry.address)/berth-test/big:1"
                let context = try daemon.buildContext("big", dockerfile: "FROM \(Self.image)\nRUN dd if=/dev/urandom of=/big bs=1M count=24\n")
                let build = try Self.docker(daemon, ["build", "-q", "-t", name, context], timeout: 300)
                #expect(build.status == 0, "\(build)")
                #expect(try Self.docker(daemon, ["push", name], timeout: 300).status == 0)
                #expect(try Self.docker(daemon, ["rmi", name]).status == 0)
                let before = try Self.imageIDs(daemon)

                try disk.leave(8 << 20)
                let pull = try Self.docker(daemon, ["pull", name], timeout: 300)
                #expect(pull.status != 0 && pull.stderr.contains(Self.noSpace), "\(pull)")
                try Self.expectWholeStore(daemon)
                #expect(try Self.imageIDs(daemon) == before, "a cut pull recorded an image")

                disk.free()
                let again = try Self.docker(daemon, ["pull", name], timeout: 300)
                #expect(again.status == 0, "\(again)")
                let run = try Self.docker(daemon, ["run", "--rm", name, "sh", "-c", "wc -c < /big"])
                #expect(run.stdout == "\(24 << 20)\n", "\(run)")
                try Self.expectCheckPasses(daemon)
            }
        }
    }

    /// A build's COPY and a commit that do not fit, then both once space is freed.
    @Test func buildAndCommitFailWithNoSpaceAndWorkOnceFreed() async throws {
        try await Self.withSmallDisk(megabytes: 192) { daemon, disk in
            let context = try daemon.buildContext(dockerfile: "FROM \(Self.image)\nCOPY big /big\n")
            try Command.succeed(["dd", "if=/dev/urandom", "of=\(context)/big", "bs=1M", "count=24", "status=none"])
            #expect(try Self.docker(daemon, ["run", "--name", "writer", Self.image, "dd", "if=/dev/urandom", "of=/big",
                                             "bs=1M", "count=24"]).status == 0)
            let before = try Self.imageIDs(daemon)

            try disk.leave(8 << 20)
            let build = try Self.docker(daemon, ["build", "-t", "copied", context], timeout: 300)
            #expect(build.status != 0 && (build.stderr + build.stdout).contains(Self.noSpace), "\(build)")
            let commit = try Self.docker(daemon, ["commit", "writer", "committed"], timeout: 300)
            #expect(commit.status != 0 && commit.stderr.contains(Self.noSpace), "\(commit)")
            try Self.expectWholeStore(daemon)
            #expect(try Self.imageIDs(daemon) == before, "a failed build or commit recorded an image")
            #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.split(separator: "\n").count == 1,
                    "the build's step container stayed")

            disk.free()
            let builtAgain = try Self.docker(daemon, ["build", "-q", "-t", "copied", context], timeout: 300)
            #expect(builtAgain.status == 0, "\(builtAgain)")
            let committedAgain = try Self.docker(daemon, ["commit", "writer", "committed"], timeout: 300)
            #expect(committedAgain.status == 0, "\(committedAgain)")
            for image in ["copied", "committed"] {
                let size = try Self.docker(daemon, ["run", "--rm", image, "sh", "-c", "wc -c < /big"])
                #expect(size.stdout == "\(24 << 20)\n", "\(image): \(size)")
            }
            try Self.expectCheckPasses(daemon)
        }
    }

    /// `cp` into a container, a volume's copy-up and a container's own writes to a volume.
    @Test func copyAndVolumesFailWithNoSpaceAndWorkOnceFreed() async throws {
        try await Self.withSmallDisk(megabytes: 128) { daemon, disk in
            let big = daemon.scratch + "/big"
            try Command.succeed(["dd", "if=/dev/urandom", "of=\(big)", "bs=1M", "count=24", "status=none"])
            let context = try daemon.buildContext(
                dockerfile: "FROM \(Self.image)\nRUN mkdir /data && dd if=/dev/urandom of=/data/seed bs=1M count=16\nVOLUME /data\n")
            #expect(try Self.docker(daemon, ["build", "-q", "-t", "seeded", context], timeout: 300).status == 0)
            #expect(try Self.docker(daemon, ["create", "--name", "target", Self.image, "true"]).status == 0)
            #expect(try Self.docker(daemon, ["volume", "create", "plain"]).status == 0)

            try disk.leave(8 << 20)
            let copy = try Self.docker(daemon, ["cp", big, "target:/big"])
            #expect(copy.status != 0 && copy.stderr.contains(Self.noSpace), "\(copy)")
            let volumesBefore = try Self.docker(daemon, ["volume", "ls", "-q"]).stdout
            let copyUp = try Self.docker(daemon, ["run", "--rm", "-v", "filled:/data", "seeded", "true"])
            #expect(copyUp.status != 0 && copyUp.stderr.contains(Self.noSpace), "\(copyUp)")
            #expect(try Self.docker(daemon, ["volume", "ls", "-q"]).stdout == volumesBefore, "a failed copy-up left a volume")
            let write = try Self.docker(daemon, ["run", "--rm", "-v", "plain:/data", Self.image,
                                                 "dd", "if=/dev/zero", "of=/data/f", "bs=1M", "count=24"])
            #expect(write.status != 0 && write.stderr.lowercased().contains(Self.noSpace), "\(write)")
            try Self.expectWholeStore(daemon)

            disk.free()
            let copied = try Self.docker(daemon, ["cp", big, "target:/big"])
            #expect(copied.status == 0, "\(copied)")
            let filled = try Self.docker(daemon, ["run", "--rm", "-v", "filled:/data", "seeded", "sh", "-c", "wc -c < /data/seed"])
            #expect(filled.stdout == "\(16 << 20)\n", "\(filled)")
            #expect(try Self.docker(daemon, ["run", "--rm", "-v", "plain:/data", Self.image,
                                             "dd", "if=/dev/zero", "of=/data/f", "bs=1M", "count=24"]).status == 0)
            try Self.expectCheckPasses(daemon)
        }
    }

    /// A container that fills the disk to the last block and ends: its exit is still recorded (the
    /// database keeps a reserve for it), `wait` answers, and `rm` frees the space.
    @Test func aContainerEndingOnAFullDiskIsRecordedAndRemovable() async throws {
        try await Self.withSmallDisk(megabytes: 128) { daemon, _ in
            #expect(FileManager.default.fileExists(atPath: daemon.root + "/berth.db-reserve"), "no reserve was made")
            let run = try Self.docker(daemon, ["run", "-d", "--name", "filler", "-v", "all:/data", Self.image,
                                               "sh", "-c", "dd if=/dev/zero of=/data/f bs=1M; exit 3"])
            #expect(run.status == 0, "\(run)")
            let wait = try Self.docker(daemon, ["wait", "filler"], timeout: 60)
            #expect(wait.stdout == "3\n" && !wait.timedOut, "\(wait)")
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "filler"]).stdout == "exited 3\n")
            #expect(try Self.docker(daemon, ["rm", "-v", "filler"]).status == 0)
            #expect(try Self.docker(daemon, ["volume", "rm", "all"]).status == 0)
            #expect(try Self.docker(daemon, ["run", "--rm", Self.image, "true"]).status == 0, "the disk was not freed")
        }
    }

    /// A container logging at full speed onto a full disk: entries are dropped whole (the log
    /// stays lines of JSON), the rotation stays within its bound, and logging resumes once freed.
    @Test func logsStayWholeAndBoundedOnAFullDiskAndResume() async throws {
        try await Self.withSmallDisk(megabytes: 64) { daemon, disk in
            let run = try Self.docker(daemon, ["run", "-d", "--name", "talker", "--log-opt", "max-size=1m", "--log-opt", "max-file=2",
                                               Self.image, "sh", "-c", "i=0; while :; do i=$((i+1)); echo line-$i-of-the-talker; done"])
            #expect(run.status == 0, "\(run)")
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let log = daemon.root + "/containers/\(id)/\(id)-json.log"
            try disk.leave(256 << 10)
            sleep(3)
            disk.free()
            sleep(1)
            let files = [log, log + ".1", log + ".2"].filter { FileManager.default.fileExists(atPath: $0) }
            #expect(files.count <= 2, "more files than max-file: \(files)")
            for file in files {
                let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber).int64Value
                #expect(size <= 1 << 20 + 200, "\(file) has \(size) bytes")
                let text = try String(contentsOfFile: file, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
                    #expect(entry?["log"]?.hasPrefix("line-") == true, "not a whole entry in \(file): \(line.prefix(120))")
                }
            }
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.Running}}", "talker"]).stdout == "true\n")
            let first = try Self.docker(daemon, ["logs", "--tail", "1", "talker"]).stdout
            sleep(1)
            let later = try Self.docker(daemon, ["logs", "--tail", "1", "talker"]).stdout
            #expect(first.hasPrefix("line-") && later.hasPrefix("line-") && first != later, "logging did not resume: \(first) \(later)")
            #expect(try Self.docker(daemon, ["rm", "-f", "talker"]).status == 0)
        }
    }
}
