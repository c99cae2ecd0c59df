import APIModels
import Foundation
import NativeRuntime

/// Docker's `--ipc`, `--pid` and `--uts` (with podman's `--uts container:`): a container in the
/// host's namespace of a kind, or in another container's, as the containers of a pod share theirs.
extension ContainerService {
    /// The kinds a container may share, each with its Docker setting and its modes.
    enum SharedNamespace: String, CaseIterable {
        case ipc = "IPC", pid = "PID", uts = "UTS"

        func mode(_ host: HostConfig) -> String {
            switch self {
            case .ipc: host.IpcMode ?? ""
            case .pid: host.PidMode ?? ""
            case .uts: host.UTSMode ?? ""
            }
        }

        func setMode(_ mode: String, _ host: inout HostConfig) {
            switch self {
            case .ipc: host.IpcMode = mode
            case .pid: host.PidMode = mode
            case .uts: host.UTSMode = mode
            }
        }

        /// The modes besides `container:NAME`: the container's own namespace, with dockerd's spellings of it.
        var ownModes: Set<String> {
            switch self {
            case .ipc: ["", "private", "shareable", "none"]
            case .pid, .uts: [""]
            }
        }

        var launchNamespace: LaunchSpec.Namespace {
            switch self {
            case .ipc: .ipc
            case .pid: .pid
            case .uts: .uts
            }
        }
    }

    /// Checks the modes and records a joined container by its ID when it exists (a start looks for
    /// it again, as dockerd's does). IPC defaults to `private`, as dockerd's `default-ipc-mode`. A
    /// container that joins another's utility VM (`sharedVM`) may share that container's namespaces
    /// in the VM, as a pod's containers share their sandbox's.
    func resolveNamespaceModes(_ host: inout HostConfig, config: ContainerConfig, inUtilityVM: Bool, sharedVM: ContainerRecord?,
                               ownUserNamespace: Bool) throws -> ContainerRecord? {
        var joinedUTS: ContainerRecord?
        for kind in SharedNamespace.allCases {
            let mode = kind.mode(host)
            if kind == .ipc, mode.isEmpty { host.IpcMode = "private" }
            if kind.ownModes.contains(mode) { continue }
            guard mode == "host" || mode.hasPrefix("container:") else {
                throw ContainerError.invalid("invalid \(kind.rawValue) mode: \(mode)")
            }
            if inUtilityVM {
                if let sharedVM, mode.hasPrefix("container:"), (try? find(String(mode.dropFirst("container:".count))))?.id == sharedVM.id {
                    kind.setMode("container:" + sharedVM.id, &host)
                    continue
                }
                throw ContainerError.invalid("\(kind.rawValue) mode \(mode) is not available for containers in utility VMs: "
                    + "a VM's kernel is its own (a container that joins another's VM may share that container's)")
            }
            if ownUserNamespace {
                throw ContainerError.invalid("\(kind.rawValue) mode \(mode) needs --userns=host: a container in a user namespace "
                    + "of its own cannot enter namespaces that belong to another")
            }
            if mode == "host" {
                if kind == .uts, !(config.Hostname ?? "").isEmpty {
                    throw ContainerError.invalid("conflicting options: hostname and the UTS mode")
                }
                continue
            }
            let reference = String(mode.dropFirst("container:".count))
            guard !reference.isEmpty else {
                throw ContainerError.invalid("invalid \(kind.rawValue) mode: invalid container format container:<name|id>")
            }
            guard let other = try? find(reference) else { continue }
            if !runtime(for: other).capabilities.contains(.hostNetworkNamespace) {
                throw ContainerError.invalid("\(kind.rawValue) mode \(mode): container \(other.name) runs in a utility VM")
            }
            if kind == .uts {
                if !(config.Hostname ?? "").isEmpty { throw ContainerError.invalid("conflicting options: hostname and the UTS mode") }
                joinedUTS = other
            }
            kind.setMode("container:" + other.id, &host)
        }
        return joinedUTS
    }

    /// At a start, the namespaces `container:` modes name: the init of the running container that
    /// holds each.
    func joinedNamespaces(of record: ContainerRecord) throws -> [LaunchSpec.Namespace: (pid: Int32, containerID: String)] {
        var joined: [LaunchSpec.Namespace: (pid: Int32, containerID: String)] = [:]
        // In a shared utility VM they are the guest's, which its agent finds by the container's name.
        guard !record.runsInVM else { return joined }
        for kind in SharedNamespace.allCases {
            let mode = kind.mode(record.hostConfig)
            guard mode.hasPrefix("container:") else { continue }
            let other = try find(String(mode.dropFirst("container:".count)))
            guard other.state.status == .running || other.state.status == .paused, other.state.pid > 0 else {
                throw ContainerError.conflict("cannot join \(kind.rawValue) of a non running container: \(other.id)")
            }
            if kind == .ipc, other.hostConfig.IpcMode != "shareable" {
                throw ContainerError.conflict(
                    "cannot join IPC of container \(other.id): non-shareable IPC (hint: use IpcMode:shareable for the donor container)")
            }
            joined[kind.launchNamespace] = (other.state.pid, other.id)
        }
        return joined
    }
}
