import Foundation

/// Reads a Dockerfile as Docker's reference describes it: parser directives on the first lines,
/// comment lines dropped (inside continuations too), lines joined where the escape character ends
/// them, then one instruction per logical line: its keyword, its `--flags`, and shell or exec form.
public enum DockerfileParser {
    /// Every instruction Berth builds; anything else is an error naming its line.
    public static let keywords: Set<String> = [
        "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
        "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
    ]
    /// Instructions whose leading `--name=value` words are options, not arguments.
    static let takesFlags: Set<String> = ["FROM", "RUN", "ADD", "COPY", "HEALTHCHECK"]

    public static func parse(_ text: String) throws -> Dockerfile {
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var directives: [String: String] = [:]
        var index = 0
        // Directives count only before any other line, comment or blank.
        while index < lines.count, let (key, value) = directive(lines[index]), directives[key] == nil {
            directives[key] = value
            index += 1
        }
        let escape: Character
        switch directives["escape"] {
        case nil, "\\": escape = "\\"
        case "`": escape = "`"
        case let other?: throw DockerfileError(line: 1, "invalid escape directive \(other): use \\ or `")
        }
        var instructions: [Instruction] = []
        var pending = ""
        var start = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            // Comments and blank lines vanish, inside a continuation too.
            if trimmed.hasPrefix("#") || trimmed.isEmpty { continue }
            if pending.isEmpty { start = index }
            let content = trimmed
            if content.last == escape {
                pending += String(content.dropLast())
                if index < lines.count { continue }
            } else {
                pending += content
            }
            instructions.append(try instruction(pending.trimmingCharacters(in: .whitespaces), line: start))
            pending = ""
        }
        return Dockerfile(directives: directives, instructions: instructions)
    }

    /// `# key=value` with a key of letters only.
    static func directive(_ line: String) -> (String, String)? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("#") else { return nil }
        let body = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
        guard let equals = body.firstIndex(of: "=") else { return nil }
        let key = body[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter }) else { return nil }
        return (key, body[body.index(after: equals)...].trimmingCharacters(in: .whitespaces))
    }

    static func instruction(_ text: String, line: Int) throws -> Instruction {
        let keywordEnd = text.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? text.endIndex
        let keyword = text[..<keywordEnd].uppercased()
        guard keywords.contains(keyword) else {
            throw DockerfileError(line: line, "unknown instruction: \(text[..<keywordEnd])")
        }
        var rest = text[keywordEnd...].trimmingCharacters(in: .whitespaces)
        var flags: [String: String] = [:]
        if takesFlags.contains(keyword) {
            while rest.hasPrefix("--") {
                let end = rest.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? rest.endIndex
                let flag = rest[rest.index(rest.startIndex, offsetBy: 2)..<end]
                if let equals = flag.firstIndex(of: "=") {
                    flags[String(flag[..<equals]).lowercased()] = String(flag[flag.index(after: equals)...])
                } else {
                    flags[String(flag).lowercased()] = "true"
                }
                rest = rest[end...].trimmingCharacters(in: .whitespaces)
            }
        }
        if keyword == "ONBUILD" {
            guard !rest.isEmpty else { throw DockerfileError(line: line, "ONBUILD requires an instruction") }
            let stored = try instruction(rest, line: line)
            if ["ONBUILD", "FROM", "MAINTAINER"].contains(stored.keyword) {
                throw DockerfileError(line: line, "\(stored.keyword) isn't allowed as an ONBUILD trigger")
            }
            var made = Instruction(line: line, keyword: keyword, flags: flags, arguments: .shell(rest))
            made.trigger = .instruction(stored)
            return made
        }
        if rest.isEmpty, keyword != "RUN" || flags.isEmpty {
            throw DockerfileError(line: line, "\(keyword) requires at least one argument")
        }
        return Instruction(line: line, keyword: keyword, flags: flags, arguments: arguments(rest))
    }

    /// Exec form when the text is a JSON array of strings, else shell form (as Docker falls back).
    public static func arguments(_ text: String) -> Instruction.Arguments {
        if text.hasPrefix("["), let data = text.data(using: .utf8),
           let words = try? JSONDecoder().decode([String].self, from: data) {
            return .exec(words)
        }
        return .shell(text)
    }
}
