import NIOCore

/// Frames to bytes. Holds the connection's deflater, so one encoder serves one connection.
public final class SPDYFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = SPDYFrame

    private let headerCompressor: SPDYHeaderCompressor

    public init() throws {
        headerCompressor = try SPDYHeaderCompressor()
    }

    public func encode(data frame: SPDYFrame, out: inout ByteBuffer) throws {
        switch frame {
        case .data(let streamID, let finished, let payload):
            precondition(payload.readableBytes <= SPDYFrame.maximumPayloadLength, "a data frame over 16 MiB")
            out.writeInteger(streamID & 0x7FFF_FFFF)
            out.writeInteger(Self.flagsAndLength(finished: finished, payload.readableBytes))
            out.writeImmutableBuffer(payload)
        case .synStream(let streamID, let associated, let priority, let finished, let headers):
            var payload = ByteBuffer()
            payload.writeMultipleIntegers(streamID & 0x7FFF_FFFF, associated & 0x7FFF_FFFF, priority << 5, UInt8(0))
            payload.writeImmutableBuffer(try headerCompressor.compress(headers))
            Self.control(.synStream, finished: finished, payload, into: &out)
        case .synReply(let streamID, let finished, let headers):
            var payload = ByteBuffer(integer: streamID & 0x7FFF_FFFF)
            payload.writeImmutableBuffer(try headerCompressor.compress(headers))
            Self.control(.synReply, finished: finished, payload, into: &out)
        case .headers(let streamID, let finished, let headers):
            var payload = ByteBuffer(integer: streamID & 0x7FFF_FFFF)
            payload.writeImmutableBuffer(try headerCompressor.compress(headers))
            Self.control(.headers, finished: finished, payload, into: &out)
        case .rstStream(let streamID, let status):
            Self.control(.rstStream, finished: false, words: streamID & 0x7FFF_FFFF, status.rawValue, into: &out)
        case .settings:
            Self.control(.settings, finished: false, words: 0, into: &out)
        case .ping(let id):
            Self.control(.ping, finished: false, words: id, into: &out)
        case .goAway(let last, let status):
            Self.control(.goAway, finished: false, words: last & 0x7FFF_FFFF, status, into: &out)
        case .windowUpdate(let streamID, let delta):
            Self.control(.windowUpdate, finished: false, words: streamID & 0x7FFF_FFFF, delta & 0x7FFF_FFFF, into: &out)
        }
    }

    private static func control(_ type: SPDYFrame.ControlType, finished: Bool, words: UInt32..., into out: inout ByteBuffer) {
        var payload = ByteBuffer()
        for word in words { payload.writeInteger(word) }
        control(type, finished: finished, payload, into: &out)
    }

    private static func control(_ type: SPDYFrame.ControlType, finished: Bool, _ payload: ByteBuffer, into out: inout ByteBuffer) {
        out.writeInteger(0x8000 | SPDYFrame.version)
        out.writeInteger(type.rawValue)
        out.writeInteger(flagsAndLength(finished: finished, payload.readableBytes))
        out.writeImmutableBuffer(payload)
    }

    private static func flagsAndLength(finished: Bool, _ length: Int) -> UInt32 {
        (finished ? UInt32(SPDYFrame.finishedFlag) << 24 : 0) | UInt32(length)
    }
}
