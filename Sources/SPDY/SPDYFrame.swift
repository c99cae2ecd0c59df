import NIOCore

/// One SPDY/3.1 frame, as the framing layer of draft 3.1 defines it. Only the frames a stream
/// session needs carry their fields; SETTINGS and WINDOW_UPDATE are read and passed on so a session
/// can ignore them (Kubernetes' peers send neither, and keep no flow-control windows).
public enum SPDYFrame: Sendable, Equatable {
    /// Opens a stream: the opener's headers; `finished` means the opener sends nothing more.
    case synStream(streamID: UInt32, associatedStreamID: UInt32, priority: UInt8, finished: Bool, headers: SPDYHeaders)
    /// Accepts a stream the peer opened.
    case synReply(streamID: UInt32, finished: Bool, headers: SPDYHeaders)
    /// Ends a stream abnormally, both ways.
    case rstStream(streamID: UInt32, status: SPDYResetStatus)
    case settings
    /// A ping to echo (the peer's) or the echo of one's own.
    case ping(id: UInt32)
    /// The sender takes no more streams; the last one it processed.
    case goAway(lastGoodStreamID: UInt32, status: UInt32)
    case headers(streamID: UInt32, finished: Bool, headers: SPDYHeaders)
    case windowUpdate(streamID: UInt32, delta: UInt32)
    /// A stream's bytes; `finished` half-closes the sender's side.
    case data(streamID: UInt32, finished: Bool, payload: ByteBuffer)

    /// The protocol version this framing speaks.
    public static let version: UInt16 = 3
    /// Every frame starts with 8 bytes: a control bit, then version and type or a stream ID, then flags and length.
    static let headerLength = 8
    /// Lengths are 24 bits wide.
    public static let maximumPayloadLength = (1 << 24) - 1

    enum ControlType: UInt16 {
        case synStream = 1, synReply = 2, rstStream = 3, settings = 4, ping = 6, goAway = 7, headers = 8, windowUpdate = 9
    }

    /// FLAG_FIN, on control and data frames alike.
    static let finishedFlag: UInt8 = 0x01
}

/// RST_STREAM's status codes.
public struct SPDYResetStatus: RawRepresentable, Sendable, Equatable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let protocolError = SPDYResetStatus(rawValue: 1)
    public static let invalidStream = SPDYResetStatus(rawValue: 2)
    public static let refusedStream = SPDYResetStatus(rawValue: 3)
    public static let cancel = SPDYResetStatus(rawValue: 5)
    public static let internalError = SPDYResetStatus(rawValue: 6)
}
