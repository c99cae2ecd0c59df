/// What goes wrong on a SPDY connection.
public enum SPDYError: Error, Equatable, CustomStringConvertible {
    /// A control frame of a version other than 3.
    case unsupportedVersion(UInt16)
    /// A control frame shorter than its type's fixed fields, or a data frame on stream 0.
    case malformedFrame(String)
    case malformedHeaderBlock
    /// A header block that inflates past the limit: a compression bomb, or a peer's mistake.
    case headerBlockTooLarge
    /// zlib's own failure, with its code.
    case compression(Int32)
    /// The peer reset the stream before accepting it, or refused it.
    case streamReset(SPDYResetStatus)
    /// The connection ended.
    case connectionClosed

    public var description: String {
        switch self {
        case .unsupportedVersion(let version): "SPDY version \(version) is not supported"
        case .malformedFrame(let what): "malformed SPDY frame: \(what)"
        case .malformedHeaderBlock: "malformed SPDY header block"
        case .headerBlockTooLarge: "SPDY header block too large"
        case .compression(let code): "SPDY header compression failed (zlib \(code))"
        case .streamReset(let status): "SPDY stream reset (status \(status.rawValue))"
        case .connectionClosed: "SPDY connection closed"
        }
    }
}
