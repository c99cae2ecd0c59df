import APIModels
import ArgumentParser
import Foundation

/// Docker's `--format` for the uses people type: text with `{{.Field}}` or `{{.A.B}}` paths,
/// `{{json .Path}}` (or `{{json .}}`), `\t` for a tab, and a leading `table ` that aligns columns
/// under a header. Values print as Go's templates print them.
struct OutputTemplate {
    enum Segment: Equatable {
        case text(String)
        case path([String])
        case json([String])
    }

    let segments: [Segment]
    let isTable: Bool

    init(_ format: String) throws {
        var text = format.replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
        isTable = text.hasPrefix("table")
        if isTable { text = String(text.dropFirst("table".count)).trimmingCharacters(in: .whitespaces) }
        var segments: [Segment] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw ValidationError("template: unclosed action in \(format)")
            }
            segments.append(try Self.action(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces), in: format))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        self.segments = segments
    }

    private static func action(_ body: String, in format: String) throws -> Segment {
        let words = body.split(separator: " ").map(String.init)
        func path(_ word: String) throws -> [String] {
            guard word.hasPrefix(".") else { throw ValidationError("template: unsupported action {{\(body)}} in \(format)") }
            return word.split(separator: ".").map(String.init)
        }
        if words.count == 2, words[0] == "json" { return .json(try path(words[1])) }
        guard words.count == 1 else { throw ValidationError("template: unsupported action {{\(body)}} in \(format)") }
        return .path(try path(words[0]))
    }

    func render(_ value: JSONValue) -> String {
        segments.map { segment in
            switch segment {
            case .text(let text): return text
            case .path(let path): return Self.goText(Self.lookup(path, in: value))
            case .json(let path): return Self.json(Self.lookup(path, in: value))
            }
        }.joined()
    }

    /// The header row: each field's name as Docker titles it, the text between kept.
    func header(titles: [String: String]) -> String {
        segments.map { segment in
            switch segment {
            case .text(let text): return text
            case .path(let path), .json(let path):
                let name = path.last ?? ""
                return titles[name] ?? name.uppercased()
            }
        }.joined()
    }

    /// Renders every value; as a table, tab-separated cells are aligned under the header.
    func lines(_ values: [JSONValue], titles: [String: String] = [:]) -> [String] {
        let rendered = values.map(render)
        guard isTable else { return rendered }
        let rows = ([header(titles: titles)] + rendered).map { $0.components(separatedBy: "\t") }
        let columns = rows.map(\.count).max() ?? 0
        let padded = rows.map { $0 + Array(repeating: "", count: columns - $0.count) }
        return InfoTable.table(header: padded[0], rows: Array(padded.dropFirst()))
    }

    static func lookup(_ path: [String], in value: JSONValue) -> JSONValue? {
        var current: JSONValue? = value
        for key in path { current = current?[key] }
        return current
    }

    static func goText(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: return "<no value>"
        case .bool(let flag)?: return flag ? "true" : "false"
        case .number(let number)?:
            return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .unsigned(let number)?: return String(number)
        case .string(let text)?: return text
        case .array(let items)?: return "[" + items.map(goText).joined(separator: " ") + "]"
        case .object(let fields)?: return "map[" + fields.keys.sorted().map { "\($0):\(goText(fields[$0]))" }.joined(separator: " ") + "]"
        }
    }

    static func json(_ value: JSONValue?) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value ?? .null)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
