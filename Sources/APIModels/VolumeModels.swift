/// A volume as `/volumes` shows it.
public struct Volume: Codable, Sendable, Equatable {
    public var Name: String
    public var Driver: String
    public var Mountpoint: String
    public var CreatedAt: String
    public var Labels: [String: String]
    public var Scope: String
    public var Options: [String: String]
    /// Only in `GET /system/df`: the volume's bytes and how many containers mount it.
    public var UsageData: VolumeUsage?

    public struct VolumeUsage: Codable, Sendable, Equatable {
        public var Size: Int64
        public var RefCount: Int64
        public init(Size: Int64, RefCount: Int64) {
            self.Size = Size
            self.RefCount = RefCount
        }
    }

    public init(Name: String, Driver: String, Mountpoint: String, CreatedAt: String, Labels: [String: String],
                Options: [String: String]) {
        self.Name = Name
        self.Driver = Driver
        self.Mountpoint = Mountpoint
        self.CreatedAt = CreatedAt
        self.Labels = Labels
        Scope = "local"
        self.Options = Options
    }
}

/// The body of `POST /volumes/create`.
public struct VolumeCreateRequest: Codable, Sendable, Equatable {
    public var Name: String?
    public var Driver: String?
    public var DriverOpts: [String: String]?
    public var Labels: [String: String]?

    public init(Name: String? = nil, Driver: String? = nil, DriverOpts: [String: String]? = nil, Labels: [String: String]? = nil) {
        self.Name = Name
        self.Driver = Driver
        self.DriverOpts = DriverOpts
        self.Labels = Labels
    }
}

/// The body of `GET /volumes`.
public struct VolumeListResponse: Codable, Sendable, Equatable {
    public var Volumes: [Volume]
    public var Warnings: [String]

    public init(Volumes: [Volume], Warnings: [String] = []) {
        self.Volumes = Volumes
        self.Warnings = Warnings
    }
}

/// The body of `POST /volumes/prune`.
public struct VolumePruneResponse: Codable, Sendable, Equatable {
    public var VolumesDeleted: [String]
    public var SpaceReclaimed: Int64

    public init(VolumesDeleted: [String], SpaceReclaimed: Int64) {
        self.VolumesDeleted = VolumesDeleted
        self.SpaceReclaimed = SpaceReclaimed
    }
}

/// One entry of `HostConfig.Mounts` (`docker run --mount`).
public struct MountRequest: Codable, Sendable, Equatable {
    public struct BindOptions: Codable, Sendable, Equatable {
        public var Propagation: String?
        public init(Propagation: String? = nil) { self.Propagation = Propagation }
    }

    public struct VolumeOptions: Codable, Sendable, Equatable {
        public var NoCopy: Bool?
        public var Labels: [String: String]?
        public init(NoCopy: Bool? = nil, Labels: [String: String]? = nil) {
            self.NoCopy = NoCopy
            self.Labels = Labels
        }
    }

    public struct TmpfsOptions: Codable, Sendable, Equatable {
        public var SizeBytes: Int64?
        public var Mode: UInt32?
        public init(SizeBytes: Int64? = nil, Mode: UInt32? = nil) {
            self.SizeBytes = SizeBytes
            self.Mode = Mode
        }
    }

    public var `Type`: String?
    public var Source: String?
    public var Target: String?
    public var ReadOnly: Bool?
    public var BindOptions: BindOptions?
    public var VolumeOptions: VolumeOptions?
    public var TmpfsOptions: TmpfsOptions?

    public init(Type: String? = nil, Source: String? = nil, Target: String? = nil, ReadOnly: Bool? = nil) {
        self.Type = Type
        self.Source = Source
        self.Target = Target
        self.ReadOnly = ReadOnly
    }
}

/// One entry of a container's `Mounts` in inspect and list.
public struct MountPoint: Codable, Sendable, Equatable {
    public var `Type`: String
    public var Name: String?
    public var Source: String
    public var Destination: String
    public var Driver: String?
    public var Mode: String
    public var RW: Bool
    public var Propagation: String

    public init(Type: String, Name: String?, Source: String, Destination: String, Driver: String?, Mode: String, RW: Bool,
                Propagation: String) {
        self.Type = Type
        self.Name = Name
        self.Source = Source
        self.Destination = Destination
        self.Driver = Driver
        self.Mode = Mode
        self.RW = RW
        self.Propagation = Propagation
    }
}
