import APIModels
import Engine

/// What routes need from the running daemon.
public struct DaemonContext: Sendable {
    public var root: String
    public var execRoot: String
    public var socketPath: String
    public var store: StateStore
    public var events: EventBus
    public var host: HostState
    public var images: ImageService
    public var registry: RegistryService
    public var debug: Bool
    /// The utility-VM templates made so far, for `info`; nil when templates are off.
    public var vmTemplates: (@Sendable () -> [SystemInfo.VMTemplate])?

    public init(root: String, execRoot: String, socketPath: String, store: StateStore, events: EventBus,
                host: HostState, images: ImageService, registry: RegistryService, debug: Bool,
                vmTemplates: (@Sendable () -> [SystemInfo.VMTemplate])? = nil) {
        self.vmTemplates = vmTemplates
        self.registry = registry
        self.root = root
        self.execRoot = execRoot
        self.socketPath = socketPath
        self.store = store
        self.events = events
        self.host = host
        self.images = images
        self.debug = debug
    }
}
