import CRIProtocol
import Foundation
import GRPCCore

/// A pod's or container's seccomp profile as Docker's `--security-opt`: kubelet's `seccomp` field
/// when set, else the older `seccomp_profile_path` (`runtime/default`, `docker/default`,
/// `unconfined`, `localhost/PATH`, or empty, which the CRI has mean unconfined: kubelet asks for
/// the runtime's default by name). A localhost profile is a file on this node in Docker's format,
/// read here as the docker CLI reads one.
enum SeccompSetting {
    /// The option for the engine, nil for its default profile.
    static func securityOption(_ profile: Runtime_V1_SecurityProfile?, path: String) throws -> String? {
        if let profile {
            switch profile.profileType {
            case .unconfined: return "seccomp=unconfined"
            case .localhost: return try localProfile(profile.localhostRef)
            case .runtimeDefault, .UNRECOGNIZED: return nil
            }
        }
        switch path {
        case "runtime/default", "docker/default": return nil
        case "", "unconfined": return "seccomp=unconfined"
        default:
            guard path.hasPrefix("localhost/") else { throw CRIError.invalid("unknown seccomp profile \(path)") }
            return try localProfile(String(path.dropFirst("localhost".count)))
        }
    }

    private static func localProfile(_ path: String) throws -> String {
        guard path.hasPrefix("/"), let data = FileManager.default.contents(atPath: path) else {
            throw CRIError.invalid("cannot load seccomp profile \(path): not an absolute path to a readable file")
        }
        return "seccomp=" + String(decoding: data, as: UTF8.self)
    }
}
