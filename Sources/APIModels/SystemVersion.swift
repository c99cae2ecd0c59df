// Docker wire types keep the Engine API's JSON key spelling as their property names, so the
// types read like the API reference and need no key mapping.

/// The body of `GET /version`.
public struct SystemVersion: Codable, Sendable, Equatable {
    public struct PlatformName: Codable, Sendable, Equatable {
        public var Name: String
        public init(Name: String) { self.Name = Name }
    }

    public struct Component: Codable, Sendable, Equatable {
        public var Name: String
        public var Version: String
        public var Details: [String: String]?
        public init(Name: String, Version: String, Details: [String: String]?) {
            self.Name = Name
            self.Version = Version
            self.Details = Details
        }
    }

    public var Platform: PlatformName
    public var Components: [Component]
    public var Version: String
    public var ApiVersion: String
    public var MinAPIVersion: String
    public var GitCommit: String
    /// Docker reports its Go toolchain here; Berth reports its Swift toolchain.
    public var GoVersion: String
    public var Os: String
    public var Arch: String
    public var KernelVersion: String
    public var Experimental: Bool
    public var BuildTime: String

    public init(
        Platform: PlatformName, Components: [Component], Version: String, ApiVersion: String, MinAPIVersion: String,
        GitCommit: String, GoVersion: String, Os: String, Arch: String, KernelVersion: String, Experimental: Bool,
        BuildTime: String
    ) {
        self.Platform = Platform
        self.Components = Components
        self.Version = Version
        self.ApiVersion = ApiVersion
        self.MinAPIVersion = MinAPIVersion
        self.GitCommit = GitCommit
        self.GoVersion = GoVersion
        self.Os = Os
        self.Arch = Arch
        self.KernelVersion = KernelVersion
        self.Experimental = Experimental
        self.BuildTime = BuildTime
    }
}
