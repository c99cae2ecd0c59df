import Foundation

/// Reads a container's log (json-file with its rotated files, or the CRI's format), filtered as
/// `docker logs` asks.
public struct ContainerLogs: Sendable {
    /// The log drivers a container may name: json-file (the default); none, which keeps nothing; and
    /// cri-file, the Kubernetes CRI's format at the file its `path` option names (kubelet's choice,
    /// which kubelet rotates).
    public static let drivers: Set<String> = ["json-file", "none", criFileDriver]
    public static let criFileDriver = "cri-file"

    public struct Entry: Sendable, Equatable {
        /// 1 stdout, 2 stderr: Docker's stream numbers.
        public var stream: UInt8
        public var text: String
        /// RFC 3339 with nanoseconds, as written.
        public var time: String

        public init(stream: UInt8, text: String, time: String) {
            self.stream = stream
            self.text = text
            self.time = time
        }
    }

    public struct Options: Sendable {
        public var stdout = true
        public var stderr = true
        public var since: Double?
        public var until: Double?
        /// Only the last N lines; nil for all.
        public var tail: Int?
        public var follow = false

        public init() {}
    }

    struct Line: Decodable {
        var log: String
        var stream: String
        var time: String
    }

    let path: String

    public init(path: String) {
        self.path = path
    }

    /// Entries as they are in the files now, oldest first.
    public func read(_ options: Options) -> (entries: [Entry], offset: UInt64) {
        var files: [String] = []
        var index = 1
        while FileManager.default.fileExists(atPath: "\(path).\(index)") {
            files.insert("\(path).\(index)", at: 0)
            index += 1
        }
        files.append(path)
        var entries: [Entry] = []
        var offset: UInt64 = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            let complete = data.lastIndex(of: UInt8(ascii: "\n")).map { data.startIndex...$0 }
            if file == path { offset = UInt64(complete.map { $0.count } ?? 0) }
            guard let complete else { continue }
            entries += parse(data[complete], options)
        }
        if let tail = options.tail { entries = Array(entries.suffix(max(tail, 0))) }
        return (entries, offset)
    }

    func parse(_ data: Data, _ options: Options) -> [Entry] {
        let decoder = JSONDecoder()
        var entries: [Entry] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let decoded = Self.shimLine(line) ?? Self.criLine(line) ?? (try? decoder.decode(Line.self, from: line)) else { continue }
            let stream: UInt8 = decoded.stream == "stderr" ? 2 : 1
            if stream == 1 && !options.stdout || stream == 2 && !options.stderr { continue }
            if options.since != nil || options.until != nil {
                let seconds = Self.seconds(decoded.time)
                if let since = options.since, seconds < since { continue }
                if let until = options.until, seconds >= until { continue }
            }
            entries.append(Entry(stream: stream, text: decoded.log, time: decoded.time))
        }
        return entries
    }

    /// A line in the exact shape the shim writes (`{"log":"…","stream":"…","time":"…"}`), read
    /// without a JSON decoder: ten times faster, so `logs -f` keeps up with a container writing at
    /// full speed. Anything else is left to the decoder.
    static func shimLine(_ line: Data) -> Line? {
        line.withUnsafeBytes { raw -> Line? in
            let bytes = raw.bindMemory(to: UInt8.self)
            var index = 0
            func expect(_ literal: StaticString) -> Bool {
                let count = literal.utf8CodeUnitCount
                guard index + count <= bytes.count,
                      memcmp(bytes.baseAddress! + index, literal.utf8Start, count) == 0 else { return false }
                index += count
                return true
            }
            guard expect("{\"log\":\""), let log = jsonString(bytes, &index), expect(",\"stream\":\""),
                  let stream = jsonString(bytes, &index), expect(",\"time\":\""), let time = jsonString(bytes, &index),
                  expect("}"), index == bytes.count else { return nil }
            return Line(log: log, stream: stream, time: time)
        }
    }

    /// A CRI log line, `TIME STREAM F|P CONTENT`: F ends a line (whose newline the format drops), P
    /// is part of a longer one.
    static func criLine(_ line: Data) -> Line? {
        guard line.first != UInt8(ascii: "{") else { return nil }
        let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3, fields[0].count > 20, fields[2] == Data("F".utf8) || fields[2] == Data("P".utf8) else { return nil }
        let stream = String(decoding: fields[1], as: UTF8.self)
        guard stream == "stdout" || stream == "stderr" else { return nil }
        let content = fields.count == 4 ? String(decoding: fields[3], as: UTF8.self) : ""
        return Line(log: content + (fields[2] == Data("F".utf8) ? "\n" : ""), stream: stream, time: String(decoding: fields[0], as: UTF8.self))
    }

    /// A JSON string's content from `index` (after its opening quote) to its closing quote, which
    /// `index` is left after; nil for a malformed one.
    private static func jsonString(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> String? {
        var unescaped: [UInt8] = []
        var start = index
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                unescaped.append(contentsOf: bytes[start..<index])
                index += 1
                return String(decoding: unescaped, as: UTF8.self)
            case UInt8(ascii: "\\"):
                unescaped.append(contentsOf: bytes[start..<index])
                guard index + 1 < bytes.count else { return nil }
                let escape = bytes[index + 1]
                index += 2
                switch escape {
                case UInt8(ascii: "n"): unescaped.append(0x0A)
                case UInt8(ascii: "r"): unescaped.append(0x0D)
                case UInt8(ascii: "t"): unescaped.append(0x09)
                case UInt8(ascii: "b"): unescaped.append(0x08)
                case UInt8(ascii: "f"): unescaped.append(0x0C)
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped.append(escape)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4(bytes, index) else { return nil }
                    index += 4
                    if (0xD800..<0xDC00).contains(scalar), index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
                       bytes[index + 1] == UInt8(ascii: "u"), let low = hex4(bytes, index + 2), (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                    unescaped.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
                default: return nil
                }
                start = index
            default:
                index += 1
            }
        }
        return nil
    }

    private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        return UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
    }

    /// Seconds since the epoch of an RFC 3339 time with up to nine fractional digits.
    static func seconds(_ time: String) -> Double {
        let parts = time.dropLast().split(separator: ".", maxSplits: 1)
        let formatter = ISO8601DateFormatter()
        guard let whole = formatter.date(from: String(parts[0]) + "Z") else { return 0 }
        let fraction = parts.count > 1 ? Double("0." + parts[1]) ?? 0 : 0
        return whole.timeIntervalSince1970 + fraction
    }
}
