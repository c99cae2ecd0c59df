import CRIProtocol
import GRPCCore
import HostModel
import OCI

/// A RuntimeClass handler a pod may name: how its containers run.
public enum RuntimeHandler: String, CaseIterable, Sendable {
    /// Namespaces and cgroups on the host kernel, as runc; also the handler of a pod that names none.
    case native = "runc"
    /// One utility VM per pod, of the host's architecture; the pod's containers run inside it.
    case utilityVM = "berth-vm"
    /// One arm64 utility VM per pod, for arm64 images on any host.
    case arm64 = "berth-arm64"
    /// One 32-bit Arm (v7) utility VM per pod.
    case arm = "berth-arm"

    /// The handler a request names: "" is the default, the native one.
    public init(named name: String) throws {
        if name.isEmpty {
            self = .native
            return
        }
        guard let handler = RuntimeHandler(rawValue: name) else {
            throw RPCError(code: .invalidArgument, message: """
                unknown runtime handler "\(name)": this node has \(RuntimeHandler.allCases.map(\.rawValue).joined(separator: ", "))
                """)
        }
        self = handler
    }

    /// The platform the pod's images must be of; nil for the host's own.
    public var platform: Platform? {
        switch self {
        case .native, .utilityVM: nil
        case .arm64: Platform(os: "linux", architecture: "arm64")
        case .arm: Platform(os: "linux", architecture: "arm", variant: "v7")
        }
    }

    /// Whether the pod's containers run in a utility VM.
    public var runsInUtilityVM: Bool { self != .native }

    /// The handlers this host can run: the native one always, a VM one when the host has a
    /// system emulator (and so a utility VM) for its platform.
    public static func available(on report: HostReport) -> [RuntimeHandler] {
        allCases.filter { handler in
            guard handler.runsInUtilityVM else { return true }
            let platform = handler.platform ?? report.hostPlatform
            return report.platforms.contains { $0.mode == .systemVM && $0.platform.architecture == platform.architecture }
        }
    }

    /// As `Status` reports it.
    var status: Runtime_V1_RuntimeHandler {
        var handler = Runtime_V1_RuntimeHandler()
        handler.name = rawValue
        handler.features.recursiveReadOnlyMounts = false
        handler.features.userNamespaces = false
        return handler
    }
}
