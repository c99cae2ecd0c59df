import Foundation
import Testing
@testable import Engine

/// `logs -f` over the files the shim writes: lines as the decoder reads them, and every line of
/// every rotated file that still exists, in order.
struct LogFollowerTests {
    let directory = NSTemporaryDirectory() + "log-follower-\(UUID().uuidString)"
    var path: String { directory + "/c-json.log" }

    static func line(_ text: String, stream: String = "stdout") -> String {
        let encoded = String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
        return "{\"log\":\(encoded),\"stream\":\"\(stream)\",\"time\":\"2026-12-03T10:00:00.000000001Z\"}\n"
    }

    func append(_ text: String, to file: String) throws {
        let handle = FileHandle(forWritingAtPath: file) ?? {
            FileManager.default.createFile(atPath: file, contents: nil)
            return FileHandle(forWritingAtPath: file)!
        }()
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        try handle.close()
    }

    /// What the shim's rotation does with max-file=3.
    func rotate() {
        rename(path + ".1", path + ".2")
        rename(path, path + ".1")
        FileManager.default.createFile(atPath: path, contents: nil)
    }

    @Test func theShimsLinesReadAsTheDecoderReadsThem() throws {
        let logs = ContainerLogs(path: "/nonexistent")
        for text in ["plain\n", "tab\tquote\" backslash\\ slash/\r\n", "bell \u{7} del \u{7f}", "é ✓ 😀\n", "\u{fffd}"] {
            for stream in ["stdout", "stderr"] {
                let parsed = logs.parse(Data(Self.line(text, stream: stream).utf8), ContainerLogs.Options())
                #expect(parsed == [ContainerLogs.Entry(stream: stream == "stderr" ? 2 : 1, text: text, time: "2026-12-03T10:00:00.000000001Z")])
            }
        }
        // A surrogate pair, escaped as a JSON encoder elsewhere might, and keys in another order.
        let other = #"{"stream":"stdout","log":"\ud83d\ude00 \u00e9","time":"t"}"# + "\n" + #"{"log":"\ud83d\ude00","stream":"stdout","time":"t"}"#
        #expect(logs.parse(Data(other.utf8), ContainerLogs.Options()).map(\.text) == ["😀 é", "😀"])
        #expect(logs.parse(Data(#"{"log":"cut"#.utf8), ContainerLogs.Options()).isEmpty)
    }

    @Test func followsEveryRotatedFileInOrder() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try append(Self.line("1\n"), to: path)
        let logs = ContainerLogs(path: path)
        let (first, offset) = logs.read(ContainerLogs.Options())
        #expect(first.map(\.text) == ["1\n"])
        let follower = LogFollower(logs, from: offset, options: ContainerLogs.Options())
        try append(Self.line("2\n") + String(Self.line("3\n").dropLast(5)), to: path)
        #expect(follower.next().map(\.text) == ["2\n"], "a line still being written waits")
        try append(String(Self.line("3\n").suffix(5)), to: path)
        // Two rotations before the follower looks again: both files are read, oldest first.
        rotate()
        try append(Self.line("4\n"), to: path)
        rotate()
        try append(Self.line("5\n"), to: path)
        var read: [String] = []
        for _ in 0..<4 { read += follower.next().map(\.text) }
        #expect(read == ["3\n", "4\n", "5\n"])
        // Rotated away before it was read: the follower goes on with the oldest file left.
        rotate()
        try append(Self.line("6\n"), to: path)
        rotate()
        try append(Self.line("7\n"), to: path)
        rotate()
        try append(Self.line("8\n"), to: path)
        unlink(path + ".2")
        read = []
        for _ in 0..<4 { read += follower.next().map(\.text) }
        #expect(read == ["7\n", "8\n"])
    }
}
