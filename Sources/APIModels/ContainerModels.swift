// Docker wire types for containers; property names are the API's JSON keys.

/// Docker's "string or list of strings" (Entrypoint, Cmd, Shell): a string is one element.
public struct StringOrList: Codable, Sendable, Equatable {
    public var values: [String]

    public init(_ values: [String]) { self.values = values }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let single = try? container.decode(String.self) {
            values = [single]
        } else {
            values = try container.decode([String].self)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }
}

/// `Config`: what runs, independent of the host.
public struct ContainerConfig: Codable, Sendable, Equatable {
    public var Hostname: String?
    public var Domainname: String?
    public var User: String?
    public var AttachStdin: Bool?
    public var AttachStdout: Bool?
    public var AttachStderr: Bool?
    public var ExposedPorts: [String: JSONValue]?
    public var Tty: Bool?
    public var OpenStdin: Bool?
    public var StdinOnce: Bool?
    public var Env: [String]?
    public var Cmd: StringOrList?
    public var Image: String?
    public var Volumes: [String: JSONValue]?
    public var WorkingDir: String?
    public var Entrypoint: StringOrList?
    public var NetworkDisabled: Bool?
    public var Labels: [String: String]?
    public var StopSignal: String?
    public var StopTimeout: Int?
    public var Healthcheck: HealthConfig?
    /// Where docker-py's `create_container(runtime=)` puts the runtime; read into HostConfig.Runtime.
    public var Runtime: String?
    /// Before API 1.44 the first network's MAC address was asked for here; read into its endpoint.
    public var MacAddress: String?
    /// ONBUILD triggers an image carries for builds that start from it.
    public var OnBuild: [String]?
    /// The shell of shell-form commands (SHELL).
    public var Shell: [String]?

    public init() {}
}

/// HEALTHCHECK as Docker's API carries it: the test and its timing in nanoseconds.
public struct HealthConfig: Codable, Sendable, Equatable {
    public var Test: [String]?
    public var Interval: Int64?
    public var Timeout: Int64?
    public var StartPeriod: Int64?
    public var StartInterval: Int64?
    public var Retries: Int?

    public init(Test: [String]?, Interval: Int64? = nil, Timeout: Int64? = nil, StartPeriod: Int64? = nil, StartInterval: Int64? = nil,
                Retries: Int? = nil) {
        self.Test = Test
        self.Interval = Interval
        self.Timeout = Timeout
        self.StartPeriod = StartPeriod
        self.StartInterval = StartInterval
        self.Retries = Retries
    }
}

public struct RestartPolicy: Codable, Sendable, Equatable {
    public var Name: String?
    public var MaximumRetryCount: Int?

    public init(Name: String? = nil, MaximumRetryCount: Int? = nil) {
        self.Name = Name
        self.MaximumRetryCount = MaximumRetryCount
    }
}

/// The body of `POST /containers/{id}/update`: resources and the restart policy. Zero or absent
/// values leave a setting as it is, as dockerd reads them (the docker CLI sends every field).
public struct ContainerUpdateRequest: Codable, Sendable, Equatable {
    public var Memory: Int64?
    public var MemorySwap: Int64?
    public var MemoryReservation: Int64?
    public var NanoCpus: Int64?
    public var CpuShares: Int64?
    public var CpuPeriod: Int64?
    public var CpuQuota: Int64?
    public var CpusetCpus: String?
    public var CpusetMems: String?
    public var PidsLimit: Int64?
    public var RestartPolicy: RestartPolicy?

    public init() {}
}

public struct Ulimit: Codable, Sendable, Equatable {
    public var Name: String
    public var Soft: Int64
    public var Hard: Int64

    public init(Name: String, Soft: Int64, Hard: Int64) {
        self.Name = Name
        self.Soft = Soft
        self.Hard = Hard
    }

    /// The command line's `NAME=SOFT[:HARD]` (`--ulimit`, `--default-ulimit`); nil when malformed.
    public init?(parsing text: String) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        let values = parts.count == 2 ? parts[1].split(separator: ":").map { Int64($0) } : []
        guard parts.count == 2, (1...2).contains(values.count), let soft = values[0], let hard = values.last ?? nil else { return nil }
        self.init(Name: parts[0], Soft: soft, Hard: hard)
    }
}

public struct LogConfig: Codable, Sendable, Equatable {
    public var `Type`: String?
    public var Config: [String: String]?

    public init(Type: String? = nil, Config: [String: String]? = nil) {
        self.Type = Type
        self.Config = Config
    }
}

/// `HostConfig`: how the host runs it (limits, privileges, namespaces, logging).
public struct HostConfig: Codable, Sendable, Equatable {
    /// `-v source:target[:options]`: a host path or a volume name.
    public var Binds: [String]?
    /// `--mount`.
    public var Mounts: [MountRequest]?
    /// `--tmpfs target[:options]`.
    public var Tmpfs: [String: String]?
    public var NetworkMode: String?
    /// `-p`: "80/tcp" → where the host listens.
    public var PortBindings: [String: [PortBinding]]?
    /// `-P`: every exposed port on a free host port.
    public var PublishAllPorts: Bool?
    public var RestartPolicy: RestartPolicy?
    public var AutoRemove: Bool?
    public var CapAdd: [String]?
    public var CapDrop: [String]?
    public var Dns: [String]?
    public var DnsSearch: [String]?
    public var DnsOptions: [String]?
    public var ExtraHosts: [String]?
    public var GroupAdd: [String]?
    public var IpcMode: String?
    public var PidMode: String?
    public var UTSMode: String?
    public var UsernsMode: String?
    public var OomScoreAdj: Int?
    public var Privileged: Bool?
    public var ReadonlyRootfs: Bool?
    public var SecurityOpt: [String]?
    public var ShmSize: Int64?
    public var Sysctls: [String: String]?
    /// The paths hidden from the container, and those it may only read, instead of Docker's defaults.
    public var MaskedPaths: [String]?
    public var ReadonlyPaths: [String]?
    public var Init: Bool?
    public var Memory: Int64?
    public var MemorySwap: Int64?
    public var NanoCpus: Int64?
    public var CpuShares: Int64?
    public var CpuPeriod: Int64?
    public var CpuQuota: Int64?
    public var PidsLimit: Int64?
    public var MemoryReservation: Int64?
    public var MemorySwappiness: Int64?
    public var CpusetCpus: String?
    public var CpusetMems: String?
    public var Ulimits: [Ulimit]?
    public var LogConfig: LogConfig?
    public var ConsoleSize: [Int]?
    public var Isolation: String?
    /// `--runtime`: `berth` (or `runc`, its alias) or `berth-vm`.
    public var Runtime: String?
    /// Legacy `--link CONTAINER[:ALIAS]`s on the default network, stored as dockerd shows them
    /// (`/target:/container/alias`).
    public var Links: [String]?
    /// `--volumes-from CONTAINER[:ro|rw]`: that container's volumes and binds at the same places.
    public var VolumesFrom: [String]?
    /// `--cgroupns`: `private` (a cgroup namespace of its own) or `host`.
    public var CgroupnsMode: String?
    /// `--device-cgroup-rule`: `TYPE MAJOR:MINOR ACCESS` lines for the devices cgroup.
    public var DeviceCgroupRules: [String]?
    /// The driver of the volumes the container makes; only `local` exists.
    public var VolumeDriver: String?
    /// Free-form settings for the runtime (`docker run --annotation`); Berth reads `vmAcceleratorAnnotation`, `vmKernelAnnotation`, `emulationAnnotation` and `buildStepAnnotation`.
    public var Annotations: [String: String]?

    /// `kvm` or `tcg` for a container's utility VM, instead of what the host probe chose (`berth run --vm-accel`).
    public static let vmAcceleratorAnnotation = "berth.vm.accelerator"
    /// The guest kernel of a container's utility VM (`berth run --vm-kernel`): `minimal`, `stock`, a
    /// release in berthd's cache, or a kernel image's absolute path.
    public static let vmKernelAnnotation = "berth.vm.kernel"
    /// `user` (qemu-user through binfmt_misc on this kernel) or `system` (a utility VM) for a foreign
    /// platform (`berth run --emulation`).
    public static let emulationAnnotation = "berth.emulation"
    /// Marks a build's RUN container: no build outlives its daemon, so one found at a start is removed.
    public static let buildStepAnnotation = "berth.build.step"

    public init() {}
}

/// The body of `POST /containers/create`: Config's fields at the top level, plus HostConfig.
public struct ContainerCreateRequest: Codable, Sendable, Equatable {
    public var config: ContainerConfig
    public var hostConfig: HostConfig
    public var networkingConfig: NetworkingConfig?

    public init(config: ContainerConfig, hostConfig: HostConfig, networkingConfig: NetworkingConfig? = nil) {
        self.config = config
        self.hostConfig = hostConfig
        self.networkingConfig = networkingConfig
    }

    private enum CodingKeys: String, CodingKey { case HostConfig, NetworkingConfig }

    public init(from decoder: Decoder) throws {
        config = try ContainerConfig(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hostConfig = try container.decodeIfPresent(APIModels.HostConfig.self, forKey: .HostConfig) ?? APIModels.HostConfig()
        networkingConfig = try container.decodeIfPresent(APIModels.NetworkingConfig.self, forKey: .NetworkingConfig)
    }

    public func encode(to encoder: Encoder) throws {
        try config.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(hostConfig, forKey: .HostConfig)
        try container.encodeIfPresent(networkingConfig, forKey: .NetworkingConfig)
    }
}

public struct ContainerCreateResponse: Codable, Sendable, Equatable {
    public var Id: String
    public var Warnings: [String]

    public init(Id: String, Warnings: [String]) {
        self.Id = Id
        self.Warnings = Warnings
    }
}

public struct ContainerWaitResponse: Codable, Sendable, Equatable {
    public struct WaitError: Codable, Sendable, Equatable {
        public var Message: String
    }

    public var StatusCode: Int
    public var Error: WaitError?

    public init(StatusCode: Int, error: String? = nil) {
        self.StatusCode = StatusCode
        self.Error = error.map { WaitError(Message: $0) }
    }
}

/// `State` in `GET /containers/{id}/json`.
public struct ContainerStateJSON: Codable, Sendable, Equatable {
    public var Status: String
    public var Running: Bool
    public var Paused: Bool
    public var Restarting: Bool
    public var OOMKilled: Bool
    public var Dead: Bool
    public var Pid: Int
    public var ExitCode: Int
    public var Error: String
    public var StartedAt: String
    public var FinishedAt: String
    /// Only for containers with a healthcheck.
    public var Health: ContainerHealth?

    public init(Status: String, Running: Bool, Paused: Bool, Restarting: Bool, OOMKilled: Bool, Dead: Bool, Pid: Int,
                ExitCode: Int, Error: String, StartedAt: String, FinishedAt: String, Health: ContainerHealth? = nil) {
        self.Health = Health
        self.Status = Status
        self.Running = Running
        self.Paused = Paused
        self.Restarting = Restarting
        self.OOMKilled = OOMKilled
        self.Dead = Dead
        self.Pid = Pid
        self.ExitCode = ExitCode
        self.Error = Error
        self.StartedAt = StartedAt
        self.FinishedAt = FinishedAt
    }
}

/// The body of `GET /containers/{id}/json`.
public struct ContainerInspect: Codable, Sendable, Equatable {
    public var Id: String
    public var Created: String
    public var Path: String
    public var Args: [String]
    public var State: ContainerStateJSON
    public var Image: String
    public var ResolvConfPath: String
    public var HostnamePath: String
    public var HostsPath: String
    public var LogPath: String
    public var Name: String
    public var RestartCount: Int
    public var Driver: String
    public var Platform: String
    public var MountLabel: String
    public var ProcessLabel: String
    public var AppArmorProfile: String
    public var ExecIDs: [String]?
    public var HostConfig: HostConfig
    public var GraphDriver: ImageInspect.GraphDriver
    public var Mounts: [MountPoint]
    public var Config: ContainerConfig
    public var NetworkSettings: [String: JSONValue]
    /// What Berth decided for the container; Docker's clients ignore it.
    public var Berth: ContainerRuntimeDetails?

    public init(Id: String, Created: String, Path: String, Args: [String], State: ContainerStateJSON, Image: String,
                ResolvConfPath: String, HostnamePath: String, HostsPath: String, LogPath: String, Name: String,
                RestartCount: Int, Platform: String, HostConfig: HostConfig, GraphDriver: ImageInspect.GraphDriver,
                Config: ContainerConfig, NetworkSettings: [String: JSONValue], Mounts: [MountPoint] = [],
                Berth: ContainerRuntimeDetails? = nil) {
        self.Id = Id
        self.Created = Created
        self.Path = Path
        self.Args = Args
        self.State = State
        self.Image = Image
        self.ResolvConfPath = ResolvConfPath
        self.HostnamePath = HostnamePath
        self.HostsPath = HostsPath
        self.LogPath = LogPath
        self.Name = Name
        self.RestartCount = RestartCount
        Driver = "overlay2"
        self.Platform = Platform
        MountLabel = ""
        ProcessLabel = ""
        AppArmorProfile = ""
        ExecIDs = nil
        self.HostConfig = HostConfig
        self.GraphDriver = GraphDriver
        self.Mounts = Mounts
        self.Config = Config
        self.NetworkSettings = NetworkSettings
        self.Berth = Berth
    }
}

/// How a container runs: natively, or in a utility VM (and that VM, once booted).
public struct ContainerRuntimeDetails: Codable, Sendable, Equatable {
    public struct UtilityVM: Codable, Sendable, Equatable {
        public var Domain: String
        public var Accelerator: String
        public var GuestKernel: String
        public var MemoryMiB: Int
        public var VCPUs: Int
        /// How the VM started: `cold` (booted its kernel), `template` (a clone of a booted VM's saved
        /// state) or `pool` (a clone started before the container asked for it).
        public var Start: String?
        /// When the template a clone came from was made (RFC 3339).
        public var TemplateCreated: String?
        /// What libvirt marks the domain tainted for, and why.
        public var Taints: [String]?

        public init(Domain: String, Accelerator: String, GuestKernel: String, MemoryMiB: Int, VCPUs: Int, Start: String? = nil,
                    TemplateCreated: String? = nil, Taints: [String]? = nil) {
            self.Domain = Domain
            self.Accelerator = Accelerator
            self.GuestKernel = GuestKernel
            self.MemoryMiB = MemoryMiB
            self.VCPUs = VCPUs
            self.Start = Start
            self.TemplateCreated = TemplateCreated
            self.Taints = Taints
        }
    }

    /// `process` or `vm`.
    public var Isolation: String
    /// The image's platform, as `os/arch[/variant]`.
    public var Platform: String
    /// How the platform decision runs it (`native`, `system-vm`, `user-emulation`), and why.
    public var Mode: String?
    public var Reason: String?
    public var UtilityVM: UtilityVM?

    public init(Isolation: String, Platform: String, Mode: String?, Reason: String?, UtilityVM: UtilityVM?) {
        self.Isolation = Isolation
        self.Platform = Platform
        self.Mode = Mode
        self.Reason = Reason
        self.UtilityVM = UtilityVM
    }
}

/// One row of `GET /containers/json`.
public struct ContainerSummary: Codable, Sendable, Equatable {
    public struct HostConfigSummary: Codable, Sendable, Equatable {
        public var NetworkMode: String
    }

    public var Id: String
    public var Names: [String]
    public var Image: String
    public var ImageID: String
    public var Command: String
    /// Seconds since the epoch.
    public var Created: Int64
    public var Ports: [JSONValue]
    public var SizeRw: Int64?
    public var SizeRootFs: Int64?
    public var Labels: [String: String]
    public var State: String
    public var Status: String
    public var HostConfig: HostConfigSummary
    public var NetworkSettings: [String: JSONValue]
    public var Mounts: [MountPoint]

    public init(Id: String, Names: [String], Image: String, ImageID: String, Command: String, Created: Int64,
                Labels: [String: String], State: String, Status: String, NetworkMode: String) {
        self.Id = Id
        self.Names = Names
        self.Image = Image
        self.ImageID = ImageID
        self.Command = Command
        self.Created = Created
        Ports = []
        self.Labels = Labels
        self.State = State
        self.Status = Status
        HostConfig = HostConfigSummary(NetworkMode: NetworkMode)
        NetworkSettings = ["Networks": .object([:])]
        Mounts = []
    }
}

/// The body of `POST /containers/{id}/exec`.
public struct ExecConfig: Codable, Sendable, Equatable {
    public var AttachStdin: Bool?
    public var AttachStdout: Bool?
    public var AttachStderr: Bool?
    public var DetachKeys: String?
    public var Tty: Bool?
    public var ConsoleSize: [Int]?
    public var Env: [String]?
    public var Cmd: [String]?
    public var Privileged: Bool?
    public var User: String?
    public var WorkingDir: String?

    public init() {}
}

/// `{"Id": …}`, the answer of creations that return nothing else.
public struct IDResponse: Codable, Sendable, Equatable {
    public var Id: String

    public init(Id: String) { self.Id = Id }
}

/// The body of `POST /exec/{id}/start`.
public struct ExecStartConfig: Codable, Sendable, Equatable {
    public var Detach: Bool?
    public var Tty: Bool?
    public var ConsoleSize: [Int]?

    public init(Detach: Bool? = nil, Tty: Bool? = nil) {
        self.Detach = Detach
        self.Tty = Tty
    }
}

/// The body of `GET /exec/{id}/json`.
public struct ExecInspect: Codable, Sendable, Equatable {
    public struct ProcessConfig: Codable, Sendable, Equatable {
        public var tty: Bool
        public var entrypoint: String
        public var arguments: [String]
        public var privileged: Bool
        public var user: String
    }

    public var ID: String
    public var Running: Bool
    public var ExitCode: Int?
    public var ProcessConfig: ProcessConfig
    public var OpenStdin: Bool
    public var OpenStderr: Bool
    public var OpenStdout: Bool
    public var CanRemove: Bool
    public var ContainerID: String
    public var DetachKeys: String
    public var Pid: Int

    public init(ID: String, Running: Bool, ExitCode: Int?, tty: Bool, command: [String], privileged: Bool, user: String,
                OpenStdin: Bool, OpenStderr: Bool, OpenStdout: Bool, ContainerID: String, Pid: Int) {
        self.ID = ID
        self.Running = Running
        self.ExitCode = ExitCode
        self.ProcessConfig = ExecInspect.ProcessConfig(tty: tty, entrypoint: command.first ?? "", arguments: Array(command.dropFirst()),
                              privileged: privileged, user: user)
        self.OpenStdin = OpenStdin
        self.OpenStderr = OpenStderr
        self.OpenStdout = OpenStdout
        CanRemove = false
        self.ContainerID = ContainerID
        DetachKeys = ""
        self.Pid = Pid
    }
}

/// `X-Docker-Container-Path-Stat` (base64 of this as JSON): a path in a container, as `docker cp` sees it.
public struct ContainerPathStat: Codable, Sendable, Equatable {
    public var name: String
    public var size: Int64
    /// Go's FileMode: permission bits, plus 1<<31 for a directory and 1<<27 for a symlink.
    public var mode: UInt32
    /// RFC 3339.
    public var mtime: String
    public var linkTarget: String

    public init(name: String, size: Int64, mode: UInt32, mtime: String, linkTarget: String) {
        self.name = name
        self.size = size
        self.mode = mode
        self.mtime = mtime
        self.linkTarget = linkTarget
    }
}
