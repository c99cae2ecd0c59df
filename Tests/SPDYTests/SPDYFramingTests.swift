import CZlib
import NIOCore
import NIOEmbedded
import Testing

@testable import SPDY

@Suite struct SPDYFramingTests {
    /// Peers find the dictionary by its Adler-32 in the zlib header: a byte off and no header inflates.
    @Test func theDictionaryIsTheOneDraft3Names() {
        let checksum = SPDYHeaderDictionary.bytes.withUnsafeBufferPointer { adler32(1, $0.baseAddress, uInt($0.count)) }
        #expect(SPDYHeaderDictionary.bytes.count == 1423)
        #expect(checksum == 0xE3C6_A7C2)
    }

    @Test func everyFrameSurvivesARoundTrip() throws {
        let frames: [SPDYFrame] = [
            .synStream(streamID: 1, associatedStreamID: 0, priority: 0, finished: false, headers: ["streamType": "error"]),
            .synStream(streamID: 3, associatedStreamID: 0, priority: 7, finished: true,
                       headers: SPDYHeaders([("streamtype", "data"), ("port", "80"), ("requestid", "0")])),
            .synReply(streamID: 1, finished: false, headers: SPDYHeaders()),
            .headers(streamID: 3, finished: true, headers: ["x-many": "a"]),
            .data(streamID: 5, finished: false, payload: ByteBuffer(string: "hello")),
            .data(streamID: 5, finished: true, payload: ByteBuffer()),
            .rstStream(streamID: 7, status: .refusedStream),
            .ping(id: 2),
            .goAway(lastGoodStreamID: 9, status: 0),
            .windowUpdate(streamID: 1, delta: 4096),
        ]
        let channel = try Self.framedChannel()
        for frame in frames { try channel.writeOutbound(frame) }
        while let bytes = try channel.readOutbound(as: ByteBuffer.self) { try channel.writeInbound(bytes) }
        for frame in frames {
            #expect(try channel.readInbound(as: SPDYFrame.self) == frame)
        }
        #expect(try channel.finish().isClean)
    }

    /// Several values of one name travel as one NUL-joined value and come back apart.
    @Test func repeatedHeaderNamesShareOneEntry() throws {
        let headers = SPDYHeaders([("X-Stream-Protocol-Version", "v4.channel.k8s.io"), ("x-stream-protocol-version", "v3.channel.k8s.io")])
        var block = headers.encoded()
        #expect(block.readInteger(as: UInt32.self) == 1)
        #expect(try SPDYHeaders.decoding(headers.encoded()) == headers)
    }

    /// A frame split anywhere by the network decodes once the rest arrives.
    @Test func framesSplitAcrossReadsDecode() throws {
        let sender = try Self.framedChannel()
        try sender.writeOutbound(SPDYFrame.synStream(streamID: 1, associatedStreamID: 0, priority: 0, finished: false, headers: ["streamtype": "stdout"]))
        try sender.writeOutbound(SPDYFrame.data(streamID: 1, finished: true, payload: ByteBuffer(string: "output")))
        var wire = ByteBuffer()
        while var bytes = try sender.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&bytes) }
        let receiver = try Self.framedChannel()
        while wire.readableBytes > 0 {
            try receiver.writeInbound(wire.readSlice(length: min(3, wire.readableBytes))!)
        }
        #expect(try receiver.readInbound(as: SPDYFrame.self) == .synStream(streamID: 1, associatedStreamID: 0, priority: 0, finished: false, headers: ["streamtype": "stdout"]))
        #expect(try receiver.readInbound(as: SPDYFrame.self) == .data(streamID: 1, finished: true, payload: ByteBuffer(string: "output")))
    }

    /// Bytes as draft 3 lays them out: a control bit and version 3, the type, flags and a 24-bit length.
    @Test func controlAndDataFramesHaveDraft3Layout() throws {
        let channel = try Self.framedChannel()
        try channel.writeOutbound(SPDYFrame.ping(id: 1))
        try channel.writeOutbound(SPDYFrame.data(streamID: 3, finished: true, payload: ByteBuffer(bytes: [0xAB])))
        let ping = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(ping.readableBytesView) == [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01])
        let data = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(data.readableBytesView) == [0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x01, 0xAB])
    }

    @Test func otherVersionsAreRefused() throws {
        let channel = try Self.framedChannel()
        let draft2Ping = ByteBuffer(bytes: [0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01])
        #expect(throws: SPDYError.unsupportedVersion(2)) { try channel.writeInbound(draft2Ping) }
    }

    /// A block that inflates past the limit is refused before it is all in memory.
    @Test func headerBombsAreRefused() throws {
        let huge = SPDYHeaders([("x-bomb", String(repeating: "a", count: SPDYHeaderDecompressor.maximumBlockLength))])
        let sender = try Self.framedChannel()
        try sender.writeOutbound(SPDYFrame.synStream(streamID: 1, associatedStreamID: 0, priority: 0, finished: false, headers: huge))
        let wire = try #require(try sender.readOutbound(as: ByteBuffer.self))
        #expect(wire.readableBytes < 4096)
        let receiver = try Self.framedChannel()
        #expect(throws: SPDYError.headerBlockTooLarge) { try receiver.writeInbound(wire) }
    }

    static func framedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SPDYFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(SPDYFrameEncoder()))
        return channel
    }
}
