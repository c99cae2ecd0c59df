import APIModels

/// Docker's restart policies: `no`, `always`, `unless-stopped`, `on-failure[:max]`.
enum RestartRule: Equatable {
    case never
    case always
    case unlessStopped
    case onFailure(maximumRetries: Int)

    init(_ policy: RestartPolicy?) throws {
        switch policy?.Name ?? "" {
        case "", "no": self = .never
        case "always": self = .always
        case "unless-stopped": self = .unlessStopped
        case "on-failure": self = .onFailure(maximumRetries: max(policy?.MaximumRetryCount ?? 0, 0))
        case let name: throw ContainerError.invalid("invalid restart policy '\(name)'")
        }
        if case .onFailure = self {} else if (policy?.MaximumRetryCount ?? 0) > 0 {
            throw ContainerError.invalid("maximum retry count cannot be used with restart policy '\(policy?.Name ?? "")'")
        }
    }

    /// Whether an exit that nobody asked for restarts the container.
    func restarts(exitCode: Int32, restartCount: Int) -> Bool {
        switch self {
        case .never: return false
        case .always, .unlessStopped: return true
        case .onFailure(let maximum): return exitCode != 0 && (maximum == 0 || restartCount < maximum)
        }
    }

    /// Whether a starting daemon brings the stopped container back: `always` even after a manual
    /// stop, `unless-stopped` only if it was not stopped by request.
    func startsWithDaemon(_ state: ContainerRecord.State) -> Bool {
        switch self {
        case .always: return state.status == .exited
        case .unlessStopped: return state.status == .exited && state.manuallyStopped != true
        case .never, .onFailure: return false
        }
    }
}
