import HostModel

/// The body of `GET /info`: Docker's fields, plus Berth's host report under `Berth`.
public struct SystemInfo: Codable, Sendable {
    public struct RegistryServiceConfig: Codable, Sendable {
        public var InsecureRegistryCIDRs: [String]
        public var IndexConfigs: [String: IndexInfo]
        public var Mirrors: [String]
        public init(InsecureRegistryCIDRs: [String], IndexConfigs: [String: IndexInfo], Mirrors: [String]) {
            self.InsecureRegistryCIDRs = InsecureRegistryCIDRs
            self.IndexConfigs = IndexConfigs
            self.Mirrors = Mirrors
        }
    }

    public struct IndexInfo: Codable, Sendable {
        public var Name: String
        public var Mirrors: [String]
        public var Secure: Bool
        public var Official: Bool

        public init(Name: String, Mirrors: [String], Secure: Bool, Official: Bool) {
            self.Name = Name
            self.Mirrors = Mirrors
            self.Secure = Secure
            self.Official = Official
        }
    }

    public struct SwarmInfo: Codable, Sendable {
        public var NodeID: String
        public var NodeAddr: String
        public var LocalNodeState: String
        public var ControlAvailable: Bool
        public var Error: String
        public init() {
            NodeID = ""
            NodeAddr = ""
            LocalNodeState = "inactive"
            ControlAvailable = false
            Error = ""
        }
    }

    public struct Runtime: Codable, Sendable {
        public var path: String
        public init(path: String) { self.path = path }
    }

    /// Berth's own section: the daemon's files and everything the host probe found.
    public struct BerthSection: Codable, Sendable {
        public var ExecRoot: String
        public var Socket: String
        public var Host: HostReport
        /// The utility-VM templates made so far; nil when berthd boots every VM (`--no-vm-templates`).
        public var VMTemplates: [VMTemplate]?
        public init(ExecRoot: String, Socket: String, Host: HostReport, VMTemplates: [VMTemplate]? = nil) {
            self.ExecRoot = ExecRoot
            self.Socket = Socket
            self.Host = Host
            self.VMTemplates = VMTemplates
        }
    }

    /// A booted, saved utility VM that VMs of its kind start as clones of.
    public struct VMTemplate: Codable, Sendable, Equatable {
        public var Architecture: String
        public var Kernel: String
        public var MemoryMiB: Int
        public var VCPUs: Int
        /// RFC 3339.
        public var Created: String
        public var Fingerprint: String
        /// Clones of it waiting in berthd's pool (`--vm-pool`); nil when berthd keeps no pool.
        public var Pooled: Int?
        public init(Architecture: String, Kernel: String, MemoryMiB: Int, VCPUs: Int, Created: String, Fingerprint: String, Pooled: Int? = nil) {
            self.Architecture = Architecture
            self.Kernel = Kernel
            self.MemoryMiB = MemoryMiB
            self.VCPUs = VCPUs
            self.Created = Created
            self.Fingerprint = Fingerprint
            self.Pooled = Pooled
        }
    }

    public var ID: String
    public var Containers: Int
    public var ContainersRunning: Int
    public var ContainersPaused: Int
    public var ContainersStopped: Int
    public var Images: Int
    public var Driver: String
    public var DriverStatus: [[String]]
    public var Plugins: [String: [String]]
    public var MemoryLimit: Bool
    public var SwapLimit: Bool
    public var CpuCfsPeriod: Bool
    public var CpuCfsQuota: Bool
    public var CPUShares: Bool
    public var CPUSet: Bool
    public var PidsLimit: Bool
    public var IPv4Forwarding: Bool
    public var Debug: Bool
    public var NFd: Int
    public var NGoroutines: Int
    public var SystemTime: String
    public var LoggingDriver: String
    public var CgroupDriver: String
    public var CgroupVersion: String
    public var NEventsListener: Int
    public var KernelVersion: String
    public var OperatingSystem: String
    public var OSVersion: String
    public var OSType: String
    public var Architecture: String
    public var IndexServerAddress: String
    public var RegistryConfig: RegistryServiceConfig
    public var NCPU: Int
    public var MemTotal: Int64
    public var DockerRootDir: String
    public var Name: String
    public var Labels: [String]
    public var ExperimentalBuild: Bool
    public var ServerVersion: String
    public var Runtimes: [String: Runtime]
    public var DefaultRuntime: String
    public var Swarm: SwarmInfo
    public var LiveRestoreEnabled: Bool
    public var Isolation: String
    public var InitBinary: String
    public var SecurityOptions: [String]
    public var Warnings: [String]
    public var Berth: BerthSection

    public init(
        ID: String, Containers: Int, ContainersRunning: Int, ContainersPaused: Int, ContainersStopped: Int,
        Images: Int, Driver: String, DriverStatus: [[String]], Plugins: [String: [String]], MemoryLimit: Bool,
        SwapLimit: Bool, CpuCfsPeriod: Bool, CpuCfsQuota: Bool, CPUShares: Bool, CPUSet: Bool, PidsLimit: Bool,
        IPv4Forwarding: Bool, Debug: Bool, NFd: Int, NGoroutines: Int, SystemTime: String, LoggingDriver: String,
        CgroupDriver: String, CgroupVersion: String, NEventsListener: Int, KernelVersion: String,
        OperatingSystem: String, OSVersion: String, OSType: String, Architecture: String, IndexServerAddress: String,
        RegistryConfig: RegistryServiceConfig, NCPU: Int, MemTotal: Int64, DockerRootDir: String, Name: String,
        Labels: [String], ExperimentalBuild: Bool, ServerVersion: String, Runtimes: [String: Runtime],
        DefaultRuntime: String, Swarm: SwarmInfo, LiveRestoreEnabled: Bool, Isolation: String, InitBinary: String,
        SecurityOptions: [String], Warnings: [String], Berth: BerthSection
    ) {
        self.ID = ID
        self.Containers = Containers
        self.ContainersRunning = ContainersRunning
        self.ContainersPaused = ContainersPaused
        self.ContainersStopped = ContainersStopped
        self.Images = Images
        self.Driver = Driver
        self.DriverStatus = DriverStatus
        self.Plugins = Plugins
        self.MemoryLimit = MemoryLimit
        self.SwapLimit = SwapLimit
        self.CpuCfsPeriod = CpuCfsPeriod
        self.CpuCfsQuota = CpuCfsQuota
        self.CPUShares = CPUShares
        self.CPUSet = CPUSet
        self.PidsLimit = PidsLimit
        self.IPv4Forwarding = IPv4Forwarding
        self.Debug = Debug
        self.NFd = NFd
        self.NGoroutines = NGoroutines
        self.SystemTime = SystemTime
        self.LoggingDriver = LoggingDriver
        self.CgroupDriver = CgroupDriver
        self.CgroupVersion = CgroupVersion
        self.NEventsListener = NEventsListener
        self.KernelVersion = KernelVersion
        self.OperatingSystem = OperatingSystem
        self.OSVersion = OSVersion
        self.OSType = OSType
        self.Architecture = Architecture
        self.IndexServerAddress = IndexServerAddress
        self.RegistryConfig = RegistryConfig
        self.NCPU = NCPU
        self.MemTotal = MemTotal
        self.DockerRootDir = DockerRootDir
        self.Name = Name
        self.Labels = Labels
        self.ExperimentalBuild = ExperimentalBuild
        self.ServerVersion = ServerVersion
        self.Runtimes = Runtimes
        self.DefaultRuntime = DefaultRuntime
        self.Swarm = Swarm
        self.LiveRestoreEnabled = LiveRestoreEnabled
        self.Isolation = Isolation
        self.InitBinary = InitBinary
        self.SecurityOptions = SecurityOptions
        self.Warnings = Warnings
        self.Berth = Berth
    }
}
