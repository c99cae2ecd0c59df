import Foundation
import Testing
@testable import NativeRuntime

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
