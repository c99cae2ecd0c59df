import APIModels
import Foundation
import NativeRuntime

/// A container as the daemon keeps it: what was asked for, and where its life stands.
public struct ContainerRecord: Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case created, running, paused, restarting, removing, exited, dead
    }

    /// What changes over the container's life; stored as one JSON column.
    public struct State: Codable, Sendable, Equatable {
        public var status: Status = .created
        public var pid: Int32 = 0
        public var shimPID: Int32 = 0
        public var exitCode: Int32 = 0
        public var error = ""
        public var oomKilled = false
        public var startedAt: Date?
        public var finishedAt: Date?
        public var restartCount = 0
        /// Stopped or killed by request: restart policies leave it stopped (`always` until berthd restarts).
        public var manuallyStopped: Bool?
        public var cgroup: ContainerCgroup?
        /// `--userns=auto`: the host ids the container's ids map to, chosen at creation.
        public var userNamespace: UserNamespaceMapping?
        /// How the container runs (natively, in a utility VM, through qemu-user), decided at creation.
        public var platformDecision: PlatformDecision?
        /// The utility VM of the last start, for containers that run in one.
        public var utilityVM: ContainerRuntimeDetails.UtilityVM?
        /// Volumes, binds and tmpfs mounts, resolved at creation (volumes by name).
        public var mounts: [ContainerMount]?
        /// The networks joined (none with network mode none or host); addresses only while running.
        public var networks: [NetworkAttachment]?
        /// Published ports as bound for the current run.
        public var publishedPorts: [PublishedPort]?

        public init() {}

        public var isActive: Bool { status == .running || status == .paused || status == .restarting }
    }

    public var id: String
    public var name: String
    /// The image as the user named it.
    public var imageName: String
    public var imageID: String
    public var platform: String
    public var created: Date
    public var request: ContainerCreateRequest
    /// The command resolved at creation: entrypoint and cmd of image and request combined.
    public var path: String
    public var arguments: [String]
    public var state: State

    public var config: ContainerConfig { request.config }
    public var hostConfig: HostConfig { request.hostConfig }
}
