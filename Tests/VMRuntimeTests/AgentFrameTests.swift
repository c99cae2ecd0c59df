import Testing
@testable import VMRuntime

struct AgentFrameTests {
    @Test func encodesLengthKindProcessAndPayload() {
        let frame = AgentFrame(kind: UInt8(ascii: "o"), process: 258, payload: Array("hi".utf8))
        #expect(frame.encoded() == [0, 0, 0, 7, UInt8(ascii: "o"), 0, 0, 1, 2, UInt8(ascii: "h"), UInt8(ascii: "i")])
    }

    @Test func reassemblesFramesSplitAnywhere() {
        let frames = [AgentFrame(kind: UInt8(ascii: "s"), process: 1, payload: Array("42".utf8)),
                      AgentFrame(kind: UInt8(ascii: "x"), process: 1, payload: [])]
        let stream = frames.flatMap { $0.encoded() }
        for split in 0...stream.count {
            var reader = AgentFrameReader()
            var seen: [AgentFrame] = []
            reader.append(stream[..<split])
            while let frame = reader.next() { seen.append(frame) }
            reader.append(stream[split...])
            while let frame = reader.next() { seen.append(frame) }
            #expect(seen == frames, "split at \(split)")
        }
    }

    @Test func dropsAStreamThatIsNotFramed() {
        var reader = AgentFrameReader()
        reader.append([0xff, 0xff, 0xff, 0xff, 1, 2, 3])
        #expect(reader.next() == nil)
        reader.append(AgentFrame(kind: UInt8(ascii: "h"), process: 0, payload: []).encoded())
        #expect(reader.next()?.kind == UInt8(ascii: "h"), "the reader recovers at the next frame boundary")
    }

    @Test func tokensPairKeysWithValues() {
        let payload = AgentTokens.encode([(Array("arg".utf8), Array("sh".utf8)), (Array("arg".utf8), Array("-c".utf8)),
                                          (Array("tty".utf8), Array("1".utf8))])
        let tokens = AgentTokens(payload)
        #expect(tokens.values("arg") == [Array("sh".utf8), Array("-c".utf8)])
        #expect(tokens.value("tty") == Array("1".utf8))
        #expect(tokens.value("cwd") == nil)
    }
}
