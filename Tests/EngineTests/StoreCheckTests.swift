import Foundation
import NativeRuntime
import OCI
import SystemSupport
import Testing
@testable import Engine

/// What a killed daemon leaves under its roots, planted by hand: the check removes each orphan,
/// makes a lost volume directory again, keeps what is not an orphan, and finds nothing the second time.
struct StoreCheckTests {
    let scratch = NSTemporaryDirectory() + "store-check-\(UUID().uuidString)"
    var root: String { scratch + "/root" }
    var execRoot: String { scratch + "/run" }

    func make(_ path: String, contents: String? = nil) throws {
        let full = scratch + "/" + path
        if let contents {
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: full, atomically: false, encoding: .utf8)
        } else {
            try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        }
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: scratch + "/" + path) }

    @Test func orphansGoAndRecordedStateStays() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try make("root")
        let store = try StateStore(directory: root)
        let containerID = String(repeating: "ab", count: 32)
        let blob = DigestHasher.digest(of: Data("no image names me".utf8))
        let layer = DigestHasher.digest(of: Data("an unpacked layer".utf8))
        try make("root/content/ingest/partial", contents: "half a download")
        try make("root/content/blobs/sha256/\(blob.encoded)", contents: "no image names me")
        try make("root/snapshots/.ingest-cut/diff/file", contents: "x")
        try make("root/snapshots/\(layer.encoded)/diff/file", contents: "x")
        try make("root/containers/\(containerID)/upper")
        try make("run/containers/\(containerID.prefix(24))")
        try make("run/containers/seccomp/filter", contents: "a cache, not a container's")
        try make("root/vms/\(containerID.prefix(24))/writable.ext4", contents: "")
        try make("root/volumes/orphan/_data/file", contents: "x")
        try make("root/volumes/kept/_data/file", contents: "kept")
        try make("root/volumes/kept/.copy-up/content.tar", contents: "half a copy")
        let volumes = VolumeCatalog(database: store.database)
        for name in ["kept", "lost"] {
            try volumes.insert(VolumeRecord(name: name, created: Date(), labels: [:], anonymous: false))
        }

        let check = StoreCheck(root: root, execRoot: execRoot, cgroups: CgroupManager(mountInfo: "", ownCgroups: ""))
        let findings = try check.run()
        #expect(findings.allSatisfy { $0.isRepaired }, "\(findings)")
        let problems = findings.map(\.problem)
        for expected in ["partial download content/ingest/partial (15 bytes)", "unfinished layer snapshots/.ingest-cut",
                         "blob \(blob) that no image names (17 bytes)", "unpacked layer \(layer) that no image names",
                         "directory containers/\(containerID.prefix(12)) of no container",
                         "runtime directory of no container (\(containerID.prefix(24)))",
                         "utility VM files of no container (vms/\(containerID.prefix(24)))",
                         "directory volumes/orphan of no volume", "an unfinished copy-up in volume kept",
                         "volume lost has no data directory"] {
            #expect(problems.contains(expected), "not reported: \(expected) in \(problems)")
        }
        #expect(findings.count == 10, "\(problems)")
        for gone in ["root/content/ingest/partial", "root/content/blobs/sha256/\(blob.encoded)", "root/snapshots/.ingest-cut",
                     "root/snapshots/\(layer.encoded)", "root/containers/\(containerID)", "run/containers/\(containerID.prefix(24))",
                     "root/vms/\(containerID.prefix(24))", "root/volumes/orphan", "root/volumes/kept/.copy-up"] {
            #expect(!exists(gone), "\(gone) stayed")
        }
        for kept in ["run/containers/seccomp/filter", "root/volumes/kept/_data/file", "root/volumes/lost/_data"] {
            #expect(exists(kept), "\(kept) went")
        }
        #expect(try check.run().isEmpty)
    }

    /// A file whose size the kernel gives as 0 (as /proc's are) is read to its end, however many
    /// reads that takes: a mount table cut at a page hid the mounts the check looks for.
    @Test func procFilesAreReadToTheirEnd() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(UUID().uuidString)").path
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let payload = String(repeating: "36 25 0:32 / /a/mount/point rw,relatime - tmpfs tmpfs rw\n", count: 300)
        Thread.detachNewThread {
            let descriptor = open(path, O_WRONLY)
            payload.withCString { _ = write(descriptor, $0, strlen($0)) }
            close(descriptor)
        }
        #expect(ProcFile.text(path) == payload)
        #expect(MountTable.mountPoints(mountInfo: ProcFile.text("/proc/self/mountinfo")).contains("/"))
    }

    @Test func onlyTheDaemonsOwnMountsCountAsLeftovers() {
        let id = String(repeating: "0f", count: 32)
        #expect(StoreCheck.isDaemonsOwnMount("snapshots/.merged-1234"))
        #expect(StoreCheck.isDaemonsOwnMount("containers/\(id)/rootfs"))
        #expect(StoreCheck.isDaemonsOwnMount("containers/\(id)/rootfs/data"))
        #expect(StoreCheck.isDaemonsOwnMount("overlay-check-1-2/merged"))
        #expect(!StoreCheck.isDaemonsOwnMount("volumes"), "a disk the user gave the volumes")
        #expect(!StoreCheck.isDaemonsOwnMount("volumes/big/_data"))
        #expect(!StoreCheck.isDaemonsOwnMount("snapshots"))
        #expect(!StoreCheck.isDaemonsOwnMount("containers/\(id)"))
    }

    @Test func mountPointsAreReadAsTheKernelEscapesThem() {
        let table = """
            22 1 0:21 / / rw,relatime - ext4 /dev/vda rw
            40 22 0:35 / /var/lib/berth/snapshots/.merged-1 rw - overlay overlay rw
            41 22 0:36 / /a\\040b\\011c\\134d rw - tmpfs tmpfs rw
            """
        #expect(MountTable.mountPoints(mountInfo: table) == ["/", "/var/lib/berth/snapshots/.merged-1", "/a b\tc\\d"])
    }

    @Test func findingsSayWhatBecameOfThem() {
        #expect(StoreFinding("blob x that no image names", .repaired("removed")).description == "blob x that no image names: removed")
        #expect(StoreFinding("image y lacks its blob z", .left("remove it")).description == "image y lacks its blob z: not repaired; remove it")
    }
}
