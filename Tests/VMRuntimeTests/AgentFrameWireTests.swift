import Foundation
import Testing
@testable import VMRuntime

/// The agent's frame codec (the guest agent compiles the same source) against the golden frames in
/// Tests/Fixtures/wire, which the shim's own test (`make -C shim check`) checks its C codec against.
struct AgentFrameWireTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wire")

    /// agent-frames.txt: `kind process [payload-hex]` per line, `#` comments.
    static func described() throws -> [AgentFrame] {
        let text = try String(contentsOf: fixtures.appendingPathComponent("agent-frames.txt"), encoding: .utf8)
        return try text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let fields = line.split(separator: " ")
            let kind = try #require(fields.first?.utf8.first)
            let process = try #require(UInt32(fields[1]))
            let hex = fields.count > 2 ? Array(fields[2].utf8) : []
            let payload = try stride(from: 0, to: hex.count, by: 2).map { index in
                try #require(UInt8(String(decoding: hex[index...index + 1], as: UTF8.self), radix: 16))
            }
            return AgentFrame(kind: kind, process: process, payload: payload)
        }
    }

    static func golden() throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent("agent-frames.bin")))
    }

    @Test func encodesTheGoldenBytes() throws {
        let frames = try Self.described()
        #expect(frames.count == 11)
        #expect(frames.flatMap { $0.encoded() } == (try Self.golden()))
    }

    @Test(arguments: [1, 5, 9, 64, 4096])
    func readsTheGoldenBytesInAnyChunks(_ chunk: Int) throws {
        let bytes = try Self.golden()
        var reader = AgentFrameReader()
        var frames: [AgentFrame] = []
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            reader.append(bytes[start..<min(start + chunk, bytes.count)])
            while let frame = reader.next() { frames.append(frame) }
        }
        #expect(frames == (try Self.described()))
    }
}
