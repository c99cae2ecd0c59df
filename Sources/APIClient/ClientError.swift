/// Why a call to berthd failed, worded for the person at the terminal.
public enum ClientError: Error, Equatable, CustomStringConvertible {
    /// Nothing answers at the address.
    case unreachable(DaemonAddress, reason: String)
    /// berthd answered with an error status and Docker's `{"message": ...}`.
    case daemon(status: Int, message: String)
    /// berthd answered something we could not understand.
    case malformedResponse(String)
    /// The TLS files cannot be used.
    case tls(String)

    public var description: String {
        switch self {
        case .unreachable(let address, let reason):
            return "cannot reach berthd at \(address) (\(reason)): is it running? start it with `berthd` (as root) or `make demo`"
        case .daemon(_, let message):
            return "Error response from daemon: \(message)"
        case .malformedResponse(let detail):
            return "unexpected response from berthd: \(detail)"
        case .tls(let message):
            return message
        }
    }
}
