/// What a streaming URL was issued for: kubelet hands the URL to its client, which connects to
/// berthd's streaming server and upgrades to SPDY to carry the streams.
enum StreamingRequest: Sendable, Equatable {
    /// A command run in a container, as `kubectl exec`.
    case exec(containerID: String, command: [String], streams: RemoteCommandStreams)
    /// The container's own process, as `kubectl attach`.
    case attach(containerID: String, streams: RemoteCommandStreams)
    /// Connections to ports on the pod's loopback, as `kubectl port-forward`.
    case portForward(sandboxID: String)

    /// The URL path's first segment.
    var route: String {
        switch self {
        case .exec: "exec"
        case .attach: "attach"
        case .portForward: "portforward"
        }
    }
}

/// Which of a command's standard streams the client carries, and whether it is a terminal.
struct RemoteCommandStreams: Sendable, Equatable {
    var stdin: Bool
    var stdout: Bool
    var stderr: Bool
    var tty: Bool

    /// The SPDY streams the client opens for these: an error stream always; stderr is the
    /// terminal's when there is one, and a terminal has a resize stream instead.
    var expectedTypes: Set<String> {
        var types: Set<String> = ["error"]
        if stdin { types.insert("stdin") }
        if stdout { types.insert("stdout") }
        if stderr && !tty { types.insert("stderr") }
        if tty { types.insert("resize") }
        return types
    }
}
