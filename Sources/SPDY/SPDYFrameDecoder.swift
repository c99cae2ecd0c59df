import NIOCore

/// Bytes to frames. Holds the connection's inflater, so one decoder serves one connection.
public final class SPDYFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = SPDYFrame

    private let headerDecompressor: SPDYHeaderDecompressor

    public init() throws {
        headerDecompressor = try SPDYHeaderDecompressor()
    }

    public func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let (first, second) = buffer.getMultipleIntegers(at: buffer.readerIndex, as: (UInt32, UInt32).self) else {
            return .needMoreData
        }
        let flags = UInt8(second >> 24)
        let length = Int(second & 0x00FF_FFFF)
        guard buffer.readableBytes >= SPDYFrame.headerLength + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: SPDYFrame.headerLength)
        let payload = buffer.readSlice(length: length)!
        let finished = flags & SPDYFrame.finishedFlag != 0
        if first & 0x8000_0000 == 0 {
            let streamID = first & 0x7FFF_FFFF
            guard streamID != 0 else { throw SPDYError.malformedFrame("data on stream 0") }
            context.fireChannelRead(wrapInboundOut(.data(streamID: streamID, finished: finished, payload: payload)))
            return .continue
        }
        let version = UInt16(first >> 16) & 0x7FFF
        guard version == SPDYFrame.version else { throw SPDYError.unsupportedVersion(version) }
        // The draft has receivers ignore control frames of types they do not know.
        guard let type = SPDYFrame.ControlType(rawValue: UInt16(first & 0xFFFF)) else { return .continue }
        if let frame = try controlFrame(type, finished: finished, payload: payload) {
            context.fireChannelRead(wrapInboundOut(frame))
        }
        return .continue
    }

    public func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    private func controlFrame(_ type: SPDYFrame.ControlType, finished: Bool, payload: ByteBuffer) throws -> SPDYFrame? {
        var payload = payload
        func word(_ what: String) throws -> UInt32 {
            guard let value = payload.readInteger(as: UInt32.self) else { throw SPDYError.malformedFrame("short \(what)") }
            return value
        }
        switch type {
        case .synStream:
            let streamID = try word("SYN_STREAM") & 0x7FFF_FFFF
            let associated = try word("SYN_STREAM") & 0x7FFF_FFFF
            guard let priority = payload.readInteger(as: UInt8.self), payload.readInteger(as: UInt8.self) != nil else {
                throw SPDYError.malformedFrame("short SYN_STREAM")
            }
            guard streamID != 0 else { throw SPDYError.malformedFrame("SYN_STREAM for stream 0") }
            return .synStream(streamID: streamID, associatedStreamID: associated, priority: priority >> 5, finished: finished,
                              headers: try headerDecompressor.decompress(payload))
        case .synReply:
            let streamID = try word("SYN_REPLY") & 0x7FFF_FFFF
            return .synReply(streamID: streamID, finished: finished, headers: try headerDecompressor.decompress(payload))
        case .headers:
            let streamID = try word("HEADERS") & 0x7FFF_FFFF
            return .headers(streamID: streamID, finished: finished, headers: try headerDecompressor.decompress(payload))
        case .rstStream:
            let streamID = try word("RST_STREAM") & 0x7FFF_FFFF
            return .rstStream(streamID: streamID, status: SPDYResetStatus(rawValue: try word("RST_STREAM")))
        case .settings:
            return .settings
        case .ping:
            return .ping(id: try word("PING"))
        case .goAway:
            let last = try word("GOAWAY") & 0x7FFF_FFFF
            // Draft 2's GOAWAY had no status; a peer that sends none means OK.
            return .goAway(lastGoodStreamID: last, status: payload.readInteger(as: UInt32.self) ?? 0)
        case .windowUpdate:
            let streamID = try word("WINDOW_UPDATE") & 0x7FFF_FFFF
            return .windowUpdate(streamID: streamID, delta: try word("WINDOW_UPDATE") & 0x7FFF_FFFF)
        }
    }
}
