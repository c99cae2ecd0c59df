import NativeRuntime
import Testing
@testable import Engine

struct GuestCgroupReadingTests {
    /// The guest agent's `cgroup` builtin: "== NAME" lines, each file's contents after its own.
    @Test func theGuestsCgroupFilesBecomeDockersNumbers() {
        let listed = "== memory.current\n4096000\n== memory.max\nmax\n== memory.stat\nanon 1000\ninactive_file 2000\n"
            + "== cpu.stat\nusage_usec 1500\nuser_usec 1000\nsystem_usec 500\n== pids.current\n3\n== pids.max\nmax\n"
            + "== net/dev\nInter-|   Receive\n face |bytes\n  eth0: 100 2 0 0 0 0 0 0 300 4 0 0 0 0 0 0\n    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n"
        let files = UtilityVMContainerRuntime.sections(listed)
        #expect(files["memory.stat"] == "anon 1000\ninactive_file 2000\n")
        let usage = ContainerResourceUsage(CgroupStats(unifiedFiles: { files[$0] }, memoryWhenUnlimited: 256 << 20))
        #expect(usage.memoryUsage == 4_096_000 && usage.memoryMaxUsage == 4_096_000 && usage.memoryLimit == 256 << 20)
        #expect(usage.memoryCache == 2000 && usage.cpuUsage == 1_500_000 && usage.cpuUserUsage == 1_000_000)
        #expect(usage.pidsCurrent == 3 && usage.pidsLimit == nil)
        let networks = ContainerResourceUsage.interfaces(files["net/dev"] ?? "")
        #expect(Array(networks.keys) == ["eth0"] && networks["eth0"]?.receivedBytes == 100 && networks["eth0"]?.sentPackets == 4)
    }

    /// A VM container's limits become writes to its cgroup in the guest, only to files the guest has.
    @Test func limitsBecomeWritesToTheGuestsCgroup() throws {
        let limits = CgroupLimits(memory: 64 << 20, memorySwap: 128 << 20, nanoCPUs: 1_500_000_000, pidsLimit: 50,
                                  memoryReservation: 32 << 20, cpusetCpus: "0")
        let writes = try UtilityVMContainerRuntime.guestCgroupLimits(limits).map { request in
            "\(request.kind) " + request.tokens.map(\.value).joined(separator: "=")
        }
        #expect(writes == ["w /sys/fs/cgroup/container/memory.max=67108864", "w /sys/fs/cgroup/container/memory.low=33554432",
                           "w /sys/fs/cgroup/container/cpu.max=150000 100000", "w /sys/fs/cgroup/container/pids.max=50"])
        #expect(try UtilityVMContainerRuntime.guestCgroupLimits(CgroupLimits()).isEmpty)
    }
}
