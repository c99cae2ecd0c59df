import APIModels
import NativeRuntime

/// Docker's `--sysctl`: kernel settings of the container's own namespaces only, which are the
/// container's alone. IPC settings need its own IPC namespace, network ones its own network
/// namespace; a shared one (`container:`) is set by the container that made it. In a utility VM the
/// guest's agent writes them the same way: the network namespace there is the VM's own.
enum ContainerSysctls {
    /// The IPC namespace's settings that are not under fs.mqueue.
    static let ipcNames: Set<String> = [
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
        "kernel.shmmni", "kernel.shm_rmid_forced",
    ]

    /// The settings, in name order, once each is known to belong to one of the container's namespaces.
    static func validated(_ host: HostConfig) throws -> [LaunchSpec.Sysctl] {
        let settings = (host.Sysctls ?? [:]).sorted { $0.key < $1.key }
        guard !settings.isEmpty else { return [] }
        for (name, value) in settings {
            guard !name.isEmpty, !name.contains("/"), !name.contains(".."), !value.contains("\n") else {
                throw ContainerError.invalid("invalid sysctl \(name)=\(value)")
            }
            if ipcNames.contains(name) || name.hasPrefix("fs.mqueue.") {
                guard isOwn(host.IpcMode) else {
                    throw ContainerError.invalid("sysctl '\(name)' is not allowed when joining another IPC namespace (--ipc \(host.IpcMode ?? ""))")
                }
            } else if name.hasPrefix("net.") {
                guard isOwn(host.NetworkMode) else {
                    throw ContainerError.invalid("sysctl '\(name)' is not allowed in the host's or another container's network namespace")
                }
            } else {
                throw ContainerError.invalid("sysctl '\(name)' is not allowed: it is not in a namespace of the container's own")
            }
        }
        return settings.map { LaunchSpec.Sysctl(name: $0.key, value: $0.value) }
    }

    /// Whether a namespace mode leaves the container a namespace of its own.
    private static func isOwn(_ mode: String?) -> Bool {
        guard let mode, !mode.isEmpty else { return true }
        return mode != "host" && !mode.hasPrefix("container:")
    }
}
