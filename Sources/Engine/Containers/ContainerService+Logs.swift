import Foundation

extension ContainerService {
    /// A running container's log file opened again at its path: kubelet rotates a cri-file log by
    /// renaming it, then asks for this (the CRI's ReopenContainerLog).
    public func reopenLog(_ reference: String) async throws {
        let record = try find(reference)
        guard record.state.status == .running || record.state.status == .paused else {
            throw ContainerError.conflict("container \(record.id) is not running")
        }
        try await runtime(for: record).process(of: record.id).reopenLog()
    }
}
