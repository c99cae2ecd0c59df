import Foundation

/// How a remote command ended, as the error stream of protocol v4.channel.k8s.io carries it: a
/// Kubernetes `Status` object, from which clients take the exit code.
enum RemoteCommandStatus: Equatable {
    case success
    case exited(Int32)
    case failed(String)

    /// The JSON the error stream carries before it closes.
    var json: Data {
        var status: [String: Any] = ["metadata": [String: Any]()]
        switch self {
        case .success:
            status["status"] = "Success"
        case .exited(let code):
            status["status"] = "Failure"
            status["reason"] = "NonZeroExitCode"
            status["message"] = "command terminated with non-zero exit code: exit status \(code)"
            // A cause's type is named "reason" in Status's JSON; clients read the code from its message.
            status["details"] = ["causes": [["reason": "ExitCode", "message": "\(code)"]]]
        case .failed(let message):
            status["status"] = "Failure"
            status["reason"] = "InternalError"
            status["message"] = message
            status["code"] = 500
        }
        return (try? JSONSerialization.data(withJSONObject: status, options: [.sortedKeys])) ?? Data()
    }

    /// The exit a process's recorded code means; a code clients cannot take (beyond a byte, or
    /// none recorded) is reported as a failure.
    static func exit(_ code: Int32?) -> RemoteCommandStatus {
        guard let code else { return .failed("the command's exit code was not recorded") }
        if code == 0 { return .success }
        guard (1...255).contains(code) else { return .failed("command terminated with exit code \(code)") }
        return .exited(code)
    }
}
