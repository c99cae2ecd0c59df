import Foundation
import Testing
@testable import NativeRuntime

struct LaunchSpecTests {
    func tokens(_ spec: LaunchSpec) throws -> [String] {
        try spec.encoded().split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    func makeSpec() -> LaunchSpec {
        LaunchSpec(id: "c1", arguments: ["sh", "-c", "echo a b"], environment: ["A=1"], rootfs: "/r", lowerDirectories: ["/l2", "/l1"],
                   upperDirectory: "/u", workDirectory: "/w", logPath: "/log", exitPath: "/exit", socketPath: "/sock")
    }

    @Test func encodesEveryValueAsItsOwnToken() throws {
        var spec = makeSpec()
        spec.mounts = [.init(source: "proc", target: "/proc", type: "proc", flags: [.noSetuid, .noExec])]
        spec.resourceLimits = [.init(resource: 7, soft: 10, hard: 20)]
        let list = try tokens(spec)
        #expect(Array(list.prefix(8)) == ["id", "c1", "arg", "sh", "arg", "-c", "arg", "echo a b"])
        #expect(list.contains("lowerdir=/l2:/l1,upperdir=/u,workdir=/w"))
        let mount = list.firstIndex(of: "mount")!
        #expect(Array(list[mount...(mount + 5)]) == ["mount", "proc", "/proc", "proc", "10", ""])
        let rlimit = list.firstIndex(of: "rlimit")!
        #expect(Array(list[rlimit...(rlimit + 3)]) == ["rlimit", "7", "10", "20"])
        #expect(list.suffix(4) == ["exit", "/exit", "socket", "/sock"])
    }

    @Test func anExecJoinsAContainerAndHasNoRootOrLog() throws {
        var spec = makeSpec()
        spec.joinPID = 42
        let list = try tokens(spec)
        #expect(list.contains("join-pid") && list.contains("42"))
        #expect(!list.contains("rootfs") && !list.contains("overlay") && !list.contains("log"))
    }

    @Test func refusesNulBytes() {
        var spec = makeSpec()
        spec.environment = ["BAD=a\u{0}b"]
        #expect(throws: LaunchSpecError.self) { try spec.encoded() }
    }
}

struct CapabilityTests {
    @Test func dockersDefaultSetIsTheKnownMask() {
        #expect(CapabilitySet.dockerDefault.rawValue == 0xa804_25fb)
        #expect(CapabilitySet.dockerDefault.capabilities.count == 14)
    }

    @Test func addAndDropFollowDocker() throws {
        let added = try CapabilitySet.adjusting(.dockerDefault, add: ["NET_ADMIN"], drop: ["CAP_MKNOD", "chown"])
        #expect(added.contains(.netAdmin) && !added.contains(.mknod) && !added.contains(.chown))
        let onlyOne = try CapabilitySet.adjusting(.dockerDefault, add: ["NET_BIND_SERVICE"], drop: ["ALL"])
        #expect(onlyOne == CapabilitySet([.netBindService]))
        let all = try CapabilitySet.adjusting(.dockerDefault, add: ["ALL"], drop: ["SYS_ADMIN"])
        #expect(all.contains(.sysPtrace) && !all.contains(.sysAdmin))
        #expect(throws: CapabilityError.self) { try CapabilitySet.adjusting(.dockerDefault, add: ["FLY"], drop: []) }
    }

    @Test func boundingSetIsReadFromStatus() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("status-\(UUID().uuidString)").path
        defer { unlink(file) }
        try "Name:\tx\nCapBnd:\t000001fffeffffff\n".write(toFile: file, atomically: true, encoding: .utf8)
        let set = CapabilitySet.processBounding(statusPath: file)
        #expect(!set.contains(.sysResource) && set.contains(.sysAdmin) && set.contains(.checkpointRestore))
    }
}

struct CgroupManagerTests {
    static let hybrid = """
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """

    @Test func recognisesEachLayout() {
        #expect(CgroupManager(mountInfo: Self.hybrid).layout == .hybrid)
        #expect(CgroupManager(mountInfo: "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw").layout == .v2)
        #expect(CgroupManager(mountInfo: "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory").layout == .v1)
    }

    @Test func containersJoinEveryHierarchyOnce() {
        let cgroup = ContainerCgroup(v1: ["cpu": "/a/cpu,cpuacct/x", "cpuacct": "/a/cpu,cpuacct/x", "memory": "/a/memory/x"],
                                     unified: "/a/unified/x", unifiedHasControllers: false)
        #expect(cgroup.procsFiles == ["/a/cpu,cpuacct/x/cgroup.procs", "/a/memory/x/cgroup.procs", "/a/unified/x/cgroup.procs"])
        #expect(cgroup.directory(for: "memory")?.path == "/a/memory/x")
        #expect(cgroup.directory(for: "io") == nil)
    }

    @Test func cpusBecomeACFSQuota() {
        #expect(CgroupLimits(nanoCPUs: 1_500_000_000).cfsQuota! == (150_000, 100_000))
        #expect(CgroupLimits(cpuQuota: 50_000, cpuPeriod: 200_000).cfsQuota! == (50_000, 200_000))
        #expect(CgroupLimits().cfsQuota == nil)
    }
}

struct ImageUserTests {
    func layers() throws -> [String] {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("layers-\(UUID().uuidString)").path
        for layer in ["top/etc", "base/etc"] {
            try FileManager.default.createDirectory(atPath: root + "/" + layer, withIntermediateDirectories: true)
        }
        try "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n".write(toFile: root + "/base/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\napp:x:1000:\nstaff:x:50:app\nvideo:x:44:app,other\n".write(toFile: root + "/base/etc/group", atomically: true, encoding: .utf8)
        return [root + "/top", root + "/base"]
    }

    @Test func resolvesNamesNumbersAndGroups() throws {
        let layers = try layers()
        defer { try? FileManager.default.removeItem(atPath: (layers[0] as NSString).deletingLastPathComponent) }
        #expect(try ImageUser.resolve("", layers: layers) == ImageUser(uid: 0, gid: 0, home: "/root"))
        let app = try ImageUser.resolve("app", layers: layers)
        #expect(app.uid == 1000 && app.gid == 1000 && app.home == "/home/app" && Set(app.additionalGroups) == [50, 44])
        #expect(try ImageUser.resolve("1000:staff", layers: layers).gid == 50)
        #expect(try ImageUser.resolve("4242:4343", layers: layers) == ImageUser(uid: 4242, gid: 4343))
        #expect(try ImageUser.resolve("app", groupAdd: ["video", "7"], layers: layers).additionalGroups.suffix(2) == [44, 7])
        #expect(throws: ImageUserError.self) { try ImageUser.resolve("nobody-here", layers: layers) }
        #expect(throws: ImageUserError.self) { try ImageUser.resolve("app:no-group", layers: layers) }
    }

    @Test func aWhiteoutHidesTheFileBelow() throws {
        let layers = try layers()
        defer { try? FileManager.default.removeItem(atPath: (layers[0] as NSString).deletingLastPathComponent) }
        #expect(mknod(layers[0] + "/etc/passwd", S_IFCHR | 0o600, 0) == 0)
        #expect(LayeredFile.read("/etc/passwd", layers: layers) == nil)
        #expect(LayeredFile.read("/etc/group", layers: layers)?.contains("staff") == true)
    }
}

struct SeccompProfileTests {
    @Test func compilesToBPFThatDependsOnCapabilities() throws {
        let directory = FileManager.default.temporaryDirectory.path
        let plain = directory + "/plain-\(UUID().uuidString).bpf"
        let admin = directory + "/admin-\(UUID().uuidString).bpf"
        defer { unlink(plain); unlink(admin) }
        try SeccompProfile.default(capabilities: .dockerDefault, architecture: "amd64").writeFilter(to: plain)
        try SeccompProfile.default(capabilities: CapabilitySet.dockerDefault.union([.sysAdmin]), architecture: "amd64")
            .writeFilter(to: admin)
        let plainData = try Data(contentsOf: URL(fileURLWithPath: plain))
        let adminData = try Data(contentsOf: URL(fileURLWithPath: admin))
        // struct sock_filter is 8 bytes; a real policy is hundreds of instructions.
        #expect(plainData.count % 8 == 0 && plainData.count / 8 > 100)
        #expect(plainData != adminData)
    }
}

struct ExitRecordTests {
    @Test func readsWhatTheShimWrites() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("exit-\(UUID().uuidString)").path
        defer { unlink(file) }
        #expect(ExitRecord.read(file) == nil)
        try "137 1795648974.634985738\n".write(toFile: file, atomically: true, encoding: .utf8)
        let record = ExitRecord.read(file)
        #expect(record?.code == 137 && abs((record?.finishedAt.timeIntervalSince1970 ?? 0) - 1_795_648_974.635) < 0.001)
        try "garbage".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ExitRecord.read(file) == nil)
    }
}
