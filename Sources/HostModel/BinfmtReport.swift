import OCI

/// The binfmt_misc handlers that let foreign binaries run on the host through qemu-user.
public struct BinfmtReport: Codable, Sendable, Equatable {
    public var mounted: Bool
    public var handlers: [BinfmtHandler]

    public init(mounted: Bool, handlers: [BinfmtHandler]) {
        self.mounted = mounted
        self.handlers = handlers
    }
}

public struct BinfmtHandler: Codable, Sendable, Equatable {
    /// The entry's name under `/proc/sys/fs/binfmt_misc` (`qemu-aarch64`).
    public var name: String
    public var enabled: Bool
    public var interpreter: String
    /// binfmt flags; `F` means the interpreter is opened at registration, so it works in any root.
    public var flags: String
    /// The platform whose binaries this handler runs, when it is a qemu-user handler we know.
    public var platform: Platform?

    public init(name: String, enabled: Bool, interpreter: String, flags: String, platform: Platform?) {
        self.name = name
        self.enabled = enabled
        self.interpreter = interpreter
        self.flags = flags
        self.platform = platform
    }

    /// Whether the handler works inside a container's root filesystem (needs the `F` flag).
    public var worksInContainers: Bool { enabled && flags.contains("F") }
}
