import OCI

/// One way the host can run containers of one platform.
public struct PlatformSupport: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        /// Namespaces and cgroups on the host kernel.
        case native
        /// Inside a utility VM of the platform's architecture.
        case systemVM = "system-vm"
        /// On the host kernel, foreign binaries translated by qemu-user through binfmt_misc.
        case userEmulation = "user-emulation"
    }

    public var platform: Platform
    public var mode: Mode
    /// What makes it work: the kernel, a qemu-system binary, a binfmt handler.
    public var via: String
    /// For system VMs, the accelerator they run with.
    public var accelerator: AcceleratorReport.Kind?
    /// For system VMs, the guest kernel they boot; nil when none is there yet.
    public var guestKernel: String?
    /// For user-mode emulation, the binfmt handler's flags (`F`: the interpreter is opened at
    /// registration, so it works inside a container's root that lacks it).
    public var binfmtFlags: String?

    public init(platform: Platform, mode: Mode, via: String, accelerator: AcceleratorReport.Kind? = nil, guestKernel: String? = nil,
                binfmtFlags: String? = nil) {
        self.platform = platform
        self.mode = mode
        self.via = via
        self.accelerator = accelerator
        self.guestKernel = guestKernel
        self.binfmtFlags = binfmtFlags
    }

    /// Lists, host platform first, every platform and mode the probed host offers. `guestKernels`
    /// describes the kernel a VM of each architecture (OCI name) boots.
    public static func derive(
        host: Platform, emulators: [SystemEmulator], binfmt: BinfmtReport, accelerator: AcceleratorReport,
        guestKernels: [String: String] = [:]
    ) -> [PlatformSupport] {
        var rows = [PlatformSupport(platform: host, mode: .native, via: "host kernel")]
        for emulator in emulators {
            for platform in emulator.platforms {
                let sameArch = platform.architecture == host.architecture
                let kind: AcceleratorReport.Kind = sameArch && accelerator.kind == .kvm ? .kvm : .tcg
                rows.append(PlatformSupport(platform: platform, mode: .systemVM, via: emulator.binary, accelerator: kind,
                                            guestKernel: guestKernels[platform.architecture]))
            }
        }
        for handler in binfmt.handlers where handler.enabled {
            guard let platform = handler.platform, platform != host else { continue }
            rows.append(PlatformSupport(platform: platform, mode: .userEmulation,
                                        via: "\(handler.name) (binfmt, flags \(handler.flags.isEmpty ? "-" : handler.flags))",
                                        binfmtFlags: handler.flags))
        }
        return rows.sorted { lhs, rhs in
            if (lhs.platform == host) != (rhs.platform == host) { return lhs.platform == host }
            if lhs.platform.description != rhs.platform.description { return lhs.platform.description < rhs.platform.description }
            return lhs.mode.order < rhs.mode.order
        }
    }
}

extension PlatformSupport.Mode {
    fileprivate var order: Int {
        switch self {
        case .native: return 0
        case .systemVM: return 1
        case .userEmulation: return 2
        }
    }
}
