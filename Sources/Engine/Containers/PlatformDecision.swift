import HostModel
import OCI

/// How a container of one platform runs on this host, decided once at creation from the image's
/// platform, what the host probe found and what the user asked for; `inspect` shows it with its reason.
public struct PlatformDecision: Codable, Sendable, Equatable {
    /// One of the ways the host probe lists a platform as runnable.
    public typealias Mode = PlatformSupport.Mode

    public var mode: Mode
    public var reason: String

    public init(mode: Mode, reason: String) {
        self.mode = mode
        self.reason = reason
    }

    /// The choice for `image` on `host`. `isolation` is Docker's (`process`, `vm`, or `hyperv` as the
    /// docker CLI says it); `emulation` is `user` or `system` (absent: the default for the platform).
    /// `supported` is the host probe's list; `guestKernelAvailable` says whether a VM of an (OCI)
    /// architecture can boot now. Throws the reason when the host cannot run the image at all.
    public static func decide(
        image: Platform, host: Platform, isolation: String?, emulation: String?, supported: [PlatformSupport],
        guestKernelAvailable: (String) -> Bool
    ) throws -> PlatformDecision {
        let isolation = isolation?.lowercased() ?? ""
        let emulation = emulation?.lowercased() ?? ""
        guard ["", "default", "process", "vm", "hyperv"].contains(isolation) else {
            throw PlatformDecisionError.invalid("invalid isolation: \(isolation) (use process or vm)")
        }
        guard ["", "user", "system"].contains(emulation) else {
            throw PlatformDecisionError.invalid("invalid emulation: \(emulation) (use user or system)")
        }
        let wantsVM = isolation == "vm" || isolation == "hyperv"
        if wantsVM && emulation == "user" || isolation == "process" && emulation == "system" {
            throw PlatformDecisionError.invalid("--isolation=\(isolation) and --emulation=\(emulation) contradict each other")
        }
        guard image.os == "linux" else {
            throw PlatformDecisionError.unsupported(
                "\(image) images need a \(image.os) kernel; this host runs Linux containers only, natively or in Linux utility VMs")
        }
        func systemVM(_ reason: String) throws -> PlatformDecision {
            guard supported.contains(where: { $0.mode == .systemVM && $0.platform.architecture == image.architecture }) else {
                throw PlatformDecisionError.unsupported(
                    "\(image) needs a utility VM of that architecture, and this host has no qemu-system binary for "
                        + "\(image.architecture) (Debian's qemu-system packages provide them)")
            }
            guard guestKernelAvailable(image.architecture) else {
                throw PlatformDecisionError.unsupported(
                    "\(image) needs a utility VM, and there is no guest kernel for \(image.architecture) yet: run "
                        + "`guest-kernel/build \(image.architecture)` and `vm-images/build \(image.architecture)`")
            }
            return PlatformDecision(mode: .systemVM, reason: reason)
        }
        if image.architecture == host.architecture {
            if wantsVM { return try systemVM("--isolation=\(isolation) asked for a utility VM") }
            return PlatformDecision(mode: .native, reason: "\(image) is this host's own platform")
        }
        if emulation == "user" || isolation == "process" {
            let asked = emulation == "user" ? "--emulation=user" : "--isolation=process"
            let handlers = supported.filter { $0.mode == .userEmulation && $0.platform.architecture == image.architecture }
            guard !handlers.isEmpty else {
                throw PlatformDecisionError.unsupported(
                    "\(asked) runs \(image) on this kernel through qemu-user, and binfmt_misc has no handler for "
                        + "\(image.architecture) (scripts/install-deps registers qemu-user-static's)")
            }
            // Without F the kernel looks the interpreter up inside the container's root, where it is not.
            guard handlers.contains(where: { $0.binfmtFlags?.contains("F") == true }) else {
                throw PlatformDecisionError.unsupported(
                    "\(asked): the binfmt_misc handler for \(image.architecture) lacks the F flag, so it cannot work in a "
                        + "container's root (re-register qemu-user-static with F, as scripts/install-deps does)")
            }
            return PlatformDecision(mode: .userEmulation, reason: "\(asked): \(image) binaries run through qemu-user on this kernel")
        }
        return try systemVM("\(image) is not this host's architecture (\(host.architecture)): a utility VM of its own runs it")
    }
}

public enum PlatformDecisionError: Error, CustomStringConvertible, Equatable {
    /// The request contradicts itself or names an unknown mode.
    case invalid(String)
    /// The host cannot run the platform; the message says what would be needed.
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalid(let message), .unsupported(let message): return message
        }
    }
}
