import HostModel
import OCI
import Testing

@Suite struct PlatformSupportTests {
    let host = Platform(os: "linux", architecture: "amd64")
    let emulators = [
        SystemEmulator(binary: "qemu-system-aarch64", path: "/usr/bin/qemu-system-aarch64", platforms: [Platform(os: "linux", architecture: "arm64")]),
        SystemEmulator(binary: "qemu-system-x86_64", path: "/usr/bin/qemu-system-x86_64", platforms: [Platform(os: "linux", architecture: "amd64")]),
    ]
    let binfmt = BinfmtReport(mounted: true, handlers: [
        BinfmtHandler(name: "qemu-aarch64", enabled: true, interpreter: "/q", flags: "F", platform: Platform(os: "linux", architecture: "arm64")),
        BinfmtHandler(name: "qemu-arm", enabled: false, interpreter: "/q", flags: "F", platform: Platform(os: "linux", architecture: "arm")),
        BinfmtHandler(name: "qemu-x86_64", enabled: true, interpreter: "/q", flags: "F", platform: Platform(os: "linux", architecture: "amd64")),
    ])

    @Test func hostFirstThenForeignByPlatformAndMode() {
        let tcg = AcceleratorReport(kind: .tcg, reason: "test", kvmModule: nil)
        let rows = PlatformSupport.derive(host: host, emulators: emulators, binfmt: binfmt, accelerator: tcg)
        #expect(rows.map { "\($0.platform) \($0.mode.rawValue) \($0.accelerator?.rawValue ?? "-")" } == [
            "linux/amd64 native -",
            "linux/amd64 system-vm tcg",
            "linux/arm64 system-vm tcg",
            "linux/arm64 user-emulation -",
        ])
    }

    @Test func kvmAppliesOnlyToHostArchitectureVMs() {
        let kvm = AcceleratorReport(kind: .kvm, reason: "booted", kvmModule: "kvm_intel")
        let rows = PlatformSupport.derive(host: host, emulators: emulators, binfmt: binfmt, accelerator: kvm)
        #expect(rows.first { $0.platform == host && $0.mode == .systemVM }?.accelerator == .kvm)
        #expect(rows.first { $0.platform.architecture == "arm64" && $0.mode == .systemVM }?.accelerator == .tcg)
    }
}
