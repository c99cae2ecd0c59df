import Foundation
import Testing

extension ContainerLifecycleTests {
    /// The host uid line of a process: "Uid:\treal\teffective\tsaved\tfs".
    static func hostUID(of pid: String) throws -> String {
        let status = try String(contentsOfFile: "/proc/\(pid.trimmingCharacters(in: .whitespacesAndNewlines))/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        return String(line.split(separator: "\t")[1])
    }

    @Test func userNamespaceMapsRootToAnUnprivilegedHostID() async throws {
        try await Self.withImages { daemon in
            // Inside: root, owning the image's files and what it writes; on disk the upper layer
            // keeps the image's ids, so commit and diff see what any other container would.
            let probe = "id -u; cat /proc/self/uid_map | tr -s ' '; stat -c %u /bin/busybox; "
                + "touch /made && stat -c %u /made; chown 1234:1234 /made && stat -c %u:%g /made; sleep 300"
            #expect(try daemon.berth(["run", "-d", "--userns", "auto", "--name", "mapped", Self.image, "sh", "-c", probe]).status == 0)
            #expect(try daemon.berth(["run", "-d", "--userns", "auto", "--name", "other", Self.image, "sleep", "300"]).status == 0)
            usleep(500_000)
            let logs = try daemon.berth(["logs", "mapped"])
            #expect(logs.stdout == "0\n 0 1073741824 65536\n0\n0\n1234:1234\n", "\(logs)")

            // Outside: the processes run as distinct unprivileged host ids.
            let mappedPID = try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}}", "mapped"]).stdout
            let otherPID = try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}}", "other"]).stdout
            #expect(try Self.hostUID(of: mappedPID) == "1073741824")
            #expect(try Self.hostUID(of: otherPID) == "1073807360", "a second container gets the next block")
            let id = try Self.docker(daemon, ["inspect", "-f", "{{.Id}}", "mapped"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            var onDisk = stat()
            #expect(stat(daemon.root + "/containers/\(id)/upper/made", &onDisk) == 0 && onDisk.st_uid == 1234)

            // exec joins the namespace; a user of the image is looked up and mapped the same way.
            let exec = try daemon.berth(["exec", "-u", "nobody", "mapped", "sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '"])
            #expect(exec.stdout == "65534\n 0 1073741824 65536\n", "\(exec)")

            // cp in both directions keeps the container's ids.
            let local = daemon.scratch + "/copied.txt"
            try Data("copied\n".utf8).write(to: URL(fileURLWithPath: local))
            #expect(chown(local, 1234, 1234) == 0)
            #expect(try daemon.berth(["cp", local, "mapped:/copied.txt"]).status == 0)
            let copied = try daemon.berth(["exec", "mapped", "stat", "-c", "%u %s", "/copied.txt"])
            #expect(copied.stdout == "1234 7\n", "\(copied)")
            let back = daemon.scratch + "/back"
            #expect(try daemon.berth(["cp", "mapped:/made", back]).status == 0)
            var backStat = stat()
            #expect(stat(back, &backStat) == 0 && backStat.st_uid == 1234, "host ids leaked into the copy")

            // The committed image carries the container's view of ownership.
            #expect(try daemon.berth(["commit", "mapped", "localhost/mapped:1"]).status == 0)
            let committed = try daemon.berth(["run", "--rm", "localhost/mapped:1", "stat", "-c", "%u", "/made", "/copied.txt"])
            #expect(committed.stdout == "1234\n1234\n", "\(committed)")
            #expect(try daemon.berth(["rm", "-f", "mapped", "other"]).status == 0)
        }
    }

    @Test func userNamespaceVolumesBelongToTheContainersRoot() async throws {
        try await Self.withImages { daemon in
            // A new empty volume, and one filled from the image's /etc: the container's root owns both.
            let probe = "stat -c %u:%g /data /etc/passwd && touch /data/new /etc/new && echo written"
            let result = try daemon.berth(["run", "--rm", "--userns", "auto", "-v", "empty:/data", "-v", "etc:/etc", Self.image, "sh", "-c", probe])
            #expect(result.stdout == "0:0\n0:0\nwritten\n", "\(result)")
            var onDisk = stat()
            #expect(stat(daemon.root + "/volumes/etc/_data/passwd", &onDisk) == 0 && onDisk.st_uid == 1 << 30, "host id of the container's root")
        }
    }

    @Test func userNamespaceRefusesWhatItCannotIsolate() async throws {
        try await Self.withImages { daemon in
            for (flags, message) in [(["--userns", "auto", "--privileged"], "privileged mode is incompatible with user namespaces"),
                                     (["--userns", "auto", "--network", "host"], "cannot share the host's network namespace"),
                                     (["--userns", "bogus"], "invalid USER mode")] {
                let refused = try daemon.berth(["run", "--rm"] + flags + [Self.image, "true"])
                #expect(refused.status == 125 && refused.stderr.contains(message), "\(refused)")
            }
            #expect(try daemon.berth(["ps", "-a", "-q"]).stdout.isEmpty)
        }
    }

    @Test func daemonWideRemapAppliesToDockerClients() async throws {
        // The docker CLI and docker-py accept only --userns=host; berthd --userns-remap=default
        // gives their containers user namespaces, as dockerd's does.
        try await Self.withImages(daemonOptions: ["--userns-remap", "default"]) { daemon in
            let mapped = try Self.docker(daemon, ["run", "--rm", Self.image, "sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '"])
            #expect(mapped.stdout == "0\n 0 1073741824 65536\n", "\(mapped)")
            let host = try Self.docker(daemon, ["run", "--rm", "--userns", "host", Self.image, "cat", "/proc/self/uid_map"])
            #expect(host.stdout.split(separator: " ", omittingEmptySubsequences: true) == ["0", "0", "4294967295\n"], "\(host)")
            // Written by the shim: the container's root does not own its own /proc files.
            let adjusted = try Self.docker(daemon, ["run", "--rm", "--oom-score-adj", "300", Self.image, "cat", "/proc/self/oom_score_adj"])
            #expect(adjusted.stdout == "300\n", "\(adjusted)")
            let privileged = try Self.docker(daemon, ["run", "--rm", "--privileged", Self.image, "true"])
            #expect(privileged.status == 125 && privileged.stderr.contains("--userns=host"), "\(privileged)")
        }
    }
}
