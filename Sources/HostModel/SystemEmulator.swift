import OCI

/// An installed `qemu-system-*` binary and the guest platforms it can boot.
public struct SystemEmulator: Codable, Sendable, Equatable {
    public var binary: String
    public var path: String
    public var platforms: [Platform]

    public init(binary: String, path: String, platforms: [Platform]) {
        self.binary = binary
        self.path = path
        self.platforms = platforms
    }
}

/// Whether libvirtd answers at the URI Berth uses for utility VMs.
public struct LibvirtReport: Codable, Sendable, Equatable {
    public var uri: String
    public var reachable: Bool
    /// libvirt's version as `major.minor.release`, when reachable.
    public var version: String?
    public var error: String?

    public init(uri: String, reachable: Bool, version: String?, error: String?) {
        self.uri = uri
        self.reachable = reachable
        self.version = version
        self.error = error
    }
}
