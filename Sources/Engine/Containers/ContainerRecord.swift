import APIModels
import Foundation
import NativeRuntime

/// A container as the daemon keeps it: what was asked for, and where its life stands.
public struct ContainerRecord: Sendable, Equatable {
    /// Docker's words for the phases, as `inspect` and `ps` show them.
    public enum Status: String, Codable, Sendable {
        case created, running, paused, restarting, removing, exited, dead

        /// Whether a client can attach to the container's stdio now (or at its coming start): a created
        /// or exited container's attach waits for its next start, as `docker start -a` needs.
        public var isAttachable: Bool { self == .created || self == .exited || self == .running || self == .paused || self == .restarting }
    }

    /// Where the container's life stands, each phase with what holds only in it: a pid only while
    /// a process runs, an exit code only once one ended, the cgroups made at creation only until
    /// the first start moves the container in.
    public enum Phase: Sendable, Equatable {
        /// Made and never run; `failure` when its last start failed.
        case created(preparedCgroup: ContainerCgroup?, failure: StartFailure?)
        case running(Run)
        case paused(Run)
        /// Between two runs, waiting out its restart policy's delay.
        case restarting(after: Exit)
        /// Its last run ended (`exit`); `failure` when a start since failed.
        case exited(Exit, failure: StartFailure?)
        case removing
        case dead
    }

    /// A run in progress.
    public struct Run: Sendable, Equatable {
        /// The container's process as the host sees it (QEMU's for a container in a VM).
        public var pid: Int32
        /// The process that holds the container and outlives berthd (its shim).
        public var supervisorPID: Int32
        public var startedAt: Date
        public var cgroup: ContainerCgroup?
        /// The utility VM it runs in, for containers that run in one.
        public var utilityVM: ContainerRuntimeDetails.UtilityVM?
        /// Published ports as bound for this run.
        public var publishedPorts: [PublishedPort]

        public init(pid: Int32, supervisorPID: Int32, startedAt: Date, cgroup: ContainerCgroup? = nil,
                    utilityVM: ContainerRuntimeDetails.UtilityVM? = nil, publishedPorts: [PublishedPort] = []) {
            self.pid = pid
            self.supervisorPID = supervisorPID
            self.startedAt = startedAt
            self.cgroup = cgroup
            self.utilityVM = utilityVM
            self.publishedPorts = publishedPorts
        }
    }

    /// How a run ended.
    public struct Exit: Sendable, Equatable {
        public var code: Int32
        public var error: String
        public var oomKilled: Bool
        public var startedAt: Date?
        public var finishedAt: Date
        /// The utility VM the run had, still shown by `inspect`.
        public var utilityVM: ContainerRuntimeDetails.UtilityVM?

        public init(code: Int32, error: String = "", oomKilled: Bool = false, startedAt: Date?, finishedAt: Date,
                    utilityVM: ContainerRuntimeDetails.UtilityVM? = nil) {
            self.code = code
            self.error = error
            self.oomKilled = oomKilled
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.utilityVM = utilityVM
        }
    }

    /// A start that failed before the container's command ran: Docker's exit code for it (125,
    /// 126, 127) and why.
    public struct StartFailure: Sendable, Equatable {
        public var code: Int32
        public var message: String

        public init(code: Int32, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// What changes over the container's life; stored as one JSON column, in the flat shape it
    /// has always had (see `State+Codable`).
    public struct State: Sendable, Equatable {
        public var phase: Phase = .created(preparedCgroup: nil, failure: nil)
        public var restartCount = 0
        /// Stopped or killed by request: restart policies leave it stopped (`always` until berthd restarts).
        public var manuallyStopped: Bool?
        /// `--userns=auto`: the host ids the container's ids map to, chosen at creation.
        public var userNamespace: UserNamespaceMapping?
        /// How the container runs (natively, in a utility VM, through qemu-user), decided at creation.
        public var platformDecision: PlatformDecision?
        /// Volumes, binds and tmpfs mounts, resolved at creation (volumes by name).
        public var mounts: [ContainerMount]?
        /// The networks joined (none with network mode none or host); addresses only while running.
        public var networks: [NetworkAttachment]?
        /// The healthcheck's verdict and last probes, for containers with one.
        public var health: ContainerHealth?

        public init() {}

        public var status: Status {
            switch phase {
            case .created: return .created
            case .running: return .running
            case .paused: return .paused
            case .restarting: return .restarting
            case .exited: return .exited
            case .removing: return .removing
            case .dead: return .dead
            }
        }

        public var isActive: Bool { status == .running || status == .paused || status == .restarting }

        /// The run in progress, running or paused.
        public var run: Run? {
            switch phase {
            case .running(let run), .paused(let run): return run
            default: return nil
            }
        }

        /// The last run's end, when one ended.
        public var lastExit: Exit? {
            switch phase {
            case .restarting(let exit), .exited(let exit, _): return exit
            default: return nil
            }
        }

        private var startFailure: StartFailure? {
            switch phase {
            case .created(_, let failure), .exited(_, let failure): return failure
            default: return nil
            }
        }

        public var pid: Int32 { run?.pid ?? 0 }
        public var shimPID: Int32 { run?.supervisorPID ?? 0 }
        public var exitCode: Int32 { startFailure?.code ?? lastExit?.code ?? 0 }
        public var error: String { startFailure?.message ?? lastExit?.error ?? "" }
        public var oomKilled: Bool { lastExit?.oomKilled ?? false }
        public var startedAt: Date? { run?.startedAt ?? lastExit?.startedAt }
        public var finishedAt: Date? { run == nil ? lastExit?.finishedAt : nil }
        public var utilityVM: ContainerRuntimeDetails.UtilityVM? { run?.utilityVM ?? lastExit?.utilityVM }
        public var publishedPorts: [PublishedPort]? { run.flatMap { $0.publishedPorts.isEmpty ? nil : $0.publishedPorts } }

        /// The cgroups the container has now: those of its run, or those made for its first start.
        public var cgroup: ContainerCgroup? {
            switch phase {
            case .created(let prepared, _): return prepared
            case .running(let run), .paused(let run): return run.cgroup
            default: return nil
            }
        }

        /// A start failed before the command ran: the phase keeps what it was, with the failure.
        mutating func recordStartFailure(_ failure: StartFailure) {
            switch phase {
            case .created: phase = .created(preparedCgroup: nil, failure: failure)
            case .exited(let exit, _), .restarting(let exit): phase = .exited(exit, failure: failure)
            default: break
            }
        }
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
