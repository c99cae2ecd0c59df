import HostModel
import HostProbe
import Testing

@Suite struct CgroupDetectorTests {
    static let hybrid = """
        25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        33 25 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
        36 33 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
        37 33 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
        38 33 0:33 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
        """
    static let pureV2 = """
        25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        33 25 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        """
    static let pureV1 = """
        36 33 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 33 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
        """

    @Test func hybridHasV1ControllersAndAnEmptyUnifiedMount() {
        let report = CgroupDetector.parse(mountInfo: Self.hybrid)
        #expect(report.layout == .hybrid)
        #expect(report.v1Controllers == ["cpu", "cpuacct", "memory", "pids"])
        #expect(report.unifiedMountPoint == "/sys/fs/cgroup/unified")
        #expect(report.dockerVersion == "1")
    }

    @Test func pureV2() {
        let report = CgroupDetector.parse(mountInfo: Self.pureV2)
        #expect(report.layout == .v2)
        #expect(report.v1Controllers.isEmpty)
        #expect(report.unifiedMountPoint == "/sys/fs/cgroup")
        #expect(report.dockerVersion == "2")
    }

    @Test func pureV1() {
        let report = CgroupDetector.parse(mountInfo: Self.pureV1)
        #expect(report.layout == .v1)
        #expect(report.v1Controllers == ["freezer", "memory"])
        #expect(report.unifiedMountPoint == nil)
    }

    @Test func thisHostMatchesItsMounts() {
        let report = CgroupDetector.detect()
        #expect(!report.v1Controllers.isEmpty || report.unifiedMountPoint != nil)
    }
}
