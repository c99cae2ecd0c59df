import Foundation

/// Reads a container's json-file log (with its rotated files), filtered as `docker logs` asks.
public struct ContainerLogs: Sendable {
    /// The log drivers a container may name: json-file (the default) and none, which keeps nothing.
    public static let drivers: Set<String> = ["json-file", "none"]

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

    private struct Line: Decodable {
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

    /// New complete lines after `offset` in the current file; a shrunken file (rotated) restarts at 0.
    public func readNew(from offset: UInt64, _ options: Options) -> (entries: [Entry], offset: UInt64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ([], offset) }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size < offset ? 0 : offset
        try? handle.seek(toOffset: start)
        guard let data = try? handle.readToEnd(), let last = data.lastIndex(of: UInt8(ascii: "\n")) else { return ([], start) }
        let complete = data[data.startIndex...last]
        return (parse(complete, options), start + UInt64(complete.count))
    }

    private func parse(_ data: Data, _ options: Options) -> [Entry] {
        let decoder = JSONDecoder()
        var entries: [Entry] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let decoded = try? decoder.decode(Line.self, from: line) else { continue }
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

    /// Seconds since the epoch of an RFC 3339 time with up to nine fractional digits.
    static func seconds(_ time: String) -> Double {
        let parts = time.dropLast().split(separator: ".", maxSplits: 1)
        let formatter = ISO8601DateFormatter()
        guard let whole = formatter.date(from: String(parts[0]) + "Z") else { return 0 }
        let fraction = parts.count > 1 ? Double("0." + parts[1]) ?? 0 : 0
        return whole.timeIntervalSince1970 + fraction
    }
}
