import APIModels

/// A process started in a running container by `exec`; kept in memory, as Docker does.
public struct ExecRecord: Sendable, Equatable {
    public var id: String
    public var containerID: String
    public var config: ExecConfig
    public var running = false
    public var exitCode: Int32?
    public var pid: Int32 = 0
    /// A terminal size that arrived before the process did: applied once it starts.
    var pendingRows: Int?
    var pendingColumns: Int?
}
