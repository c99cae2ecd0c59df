import Crypto
import Foundation
import NativeRuntime

/// The default seccomp policy compiled to BPF, once per capability set and architecture: the
/// host's for native containers, a guest's for containers in utility VMs.
struct SeccompFilterCache: Sendable {
    let directory: String

    /// The file holding the filter for a container with `capabilities` on `architecture` (Go's names).
    func filter(capabilities: CapabilitySet, architecture: String) throws -> String {
        let path = "\(directory)/\(String(capabilities.rawValue, radix: 16))-\(architecture).bpf"
        if !FileManager.default.fileExists(atPath: path) {
            try SeccompProfile.default(capabilities: capabilities, architecture: architecture).writeFilter(to: path)
        }
        return path
    }

    /// The file holding the filter a Docker-format profile compiles to for `capabilities` on `architecture`.
    func filter(profile json: Data, capabilities: CapabilitySet, architecture: String) throws -> String {
        var key = json
        key.append(contentsOf: Array("\n\(capabilities.rawValue)\n\(architecture)".utf8))
        let name = SHA256.hash(data: key).prefix(16).map { String(format: "%02x", $0) }.joined()
        let path = "\(directory)/profile-\(name).bpf"
        if !FileManager.default.fileExists(atPath: path) {
            try SeccompProfile.docker(json, capabilities: capabilities, architecture: architecture).writeFilter(to: path)
        }
        return path
    }
}
