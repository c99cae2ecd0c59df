import HostModel
import OCI
import Testing
@testable import Engine

/// The platform decision as a table: image platform and request in, mode or refusal out.
struct PlatformDecisionTests {
    static let host = Platform(os: "linux", architecture: "amd64")
    static let supported: [PlatformSupport] = [
        .init(platform: host, mode: .native, via: "host kernel"),
        .init(platform: host, mode: .systemVM, via: "/usr/bin/qemu-system-x86_64", accelerator: .tcg),
        .init(platform: .init(os: "linux", architecture: "arm64"), mode: .systemVM, via: "/usr/bin/qemu-system-aarch64", accelerator: .tcg),
        .init(platform: .init(os: "linux", architecture: "arm", variant: "v7"), mode: .systemVM, via: "/usr/bin/qemu-system-arm"),
        .init(platform: .init(os: "linux", architecture: "arm64"), mode: .userEmulation, via: "qemu-aarch64", binfmtFlags: "PF"),
        .init(platform: .init(os: "linux", architecture: "riscv64"), mode: .userEmulation, via: "qemu-riscv64", binfmtFlags: "P"),
    ]

    static func decide(_ image: String, isolation: String? = nil, emulation: String? = nil, kernels: Set<String> = ["amd64", "arm64"])
        throws -> PlatformDecision
    {
        try PlatformDecision.decide(image: try Platform(parsing: image), host: host, isolation: isolation, emulation: emulation,
                                    supported: supported, guestKernelAvailable: { kernels.contains($0) })
    }

    @Test(arguments: [
        // image, isolation, emulation, expected mode
        ("linux/amd64", nil, nil, PlatformDecision.Mode.native),
        ("linux/amd64", "process", nil, .native),
        ("linux/amd64", "default", "user", .native),
        ("linux/amd64", "vm", nil, .systemVM),
        ("linux/amd64", "hyperv", nil, .systemVM),
        ("linux/arm64", nil, nil, .systemVM),
        ("linux/arm64", "vm", "system", .systemVM),
        ("linux/arm64", nil, "user", .userEmulation),
        ("linux/arm64", "process", nil, .userEmulation),
    ] as [(String, String?, String?, PlatformDecision.Mode)])
    func decides(image: String, isolation: String?, emulation: String?, mode: PlatformDecision.Mode) throws {
        #expect(try Self.decide(image, isolation: isolation, emulation: emulation).mode == mode)
    }

    @Test(arguments: [
        ("windows/amd64", nil, nil, "need a windows kernel"),
        ("linux/s390x", nil, nil, "no qemu-system binary for s390x"),
        ("linux/arm/v7", nil, nil, "no guest kernel for arm yet: run `guest-kernel/build arm`"),
        ("linux/riscv64", nil, "user", "lacks the F flag"),
        ("linux/s390x", nil, "user", "binfmt_misc has no handler for s390x"),
        ("linux/arm64", "vm", "user", "contradict"),
        ("linux/arm64", "sandbox", nil, "invalid isolation: sandbox"),
        ("linux/arm64", nil, "fast", "invalid emulation: fast"),
    ] as [(String, String?, String?, String)])
    func refuses(image: String, isolation: String?, emulation: String?, reason: String) {
        #expect { try Self.decide(image, isolation: isolation, emulation: emulation) } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func saysWhy() throws {
        #expect(try Self.decide("linux/arm64").reason == "linux/arm64 is not this host's architecture (amd64): a utility VM of its own runs it")
        #expect(try Self.decide("linux/amd64").reason == "linux/amd64 is this host's own platform")
    }
}
