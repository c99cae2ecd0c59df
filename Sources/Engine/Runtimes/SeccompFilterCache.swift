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
}
