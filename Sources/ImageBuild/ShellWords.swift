import Foundation

/// Docker's word processing for the instructions it expands itself (ENV, ARG, LABEL, COPY, WORKDIR,
/// …): `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alternative}` replaced outside single
/// quotes, then words split on unquoted whitespace with their quotes removed.
public enum ShellWords {
    /// `text` with its variables replaced; an unset one is empty. The escape character keeps a `$` literal.
    public static func expand(_ text: String, _ variables: [String: String], escape: Character = "\\") -> String {
        var result = ""
        var characters = Array(text)[...]
        var inSingleQuotes = false
        while let character = characters.popFirst() {
            if character == escape, let next = characters.first, !inSingleQuotes {
                // `\$` stays a literal dollar sign; other escapes are for the word splitter.
                characters.removeFirst()
                result += next == "$" ? "$" : String([character, next])
                continue
            }
            if character == "'" { inSingleQuotes.toggle() }
            guard character == "$", !inSingleQuotes, let next = characters.first else {
                result.append(character)
                continue
            }
            if next == "{", let close = characters.firstIndex(of: "}") {
                let body = String(characters[characters.index(after: characters.startIndex)..<close])
                characters = characters[characters.index(after: close)...]
                result += substitution(body, variables)
            } else if next == "_" || next.isLetter {
                let name = String(characters.prefix { $0 == "_" || $0.isLetter || $0.isNumber })
                characters.removeFirst(name.count)
                result += variables[name] ?? ""
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// `NAME`, `NAME:-default` (when unset or empty) or `NAME:+alternative` (when set and not empty).
    static func substitution(_ body: String, _ variables: [String: String]) -> String {
        if let range = body.range(of: ":-") {
            let value = variables[String(body[..<range.lowerBound])] ?? ""
            return value.isEmpty ? String(body[range.upperBound...]) : value
        }
        if let range = body.range(of: ":+") {
            let value = variables[String(body[..<range.lowerBound])] ?? ""
            return value.isEmpty ? "" : String(body[range.upperBound...])
        }
        return variables[body] ?? ""
    }

    /// Words split on unquoted whitespace; quotes removed, the escape character keeping the next one as it is.
    public static func words(_ text: String, escape: Character = "\\") -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if character == escape, quote != "'", let next = characters.popFirst() {
                current.append(next)
                inWord = true
            } else if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    /// `KEY=value` pairs (ENV, LABEL, ARG), or the old `ENV KEY value with spaces` form.
    public static func pairs(_ text: String, allowsLegacyForm: Bool, escape: Character = "\\") -> [(String, String?)] {
        let split = words(text, escape: escape)
        if allowsLegacyForm, let first = split.first, !first.contains("=") {
            let rest = text.drop(while: { $0 == " " }).drop(while: { $0 != " " && $0 != "\t" }).trimmingCharacters(in: .whitespaces)
            // The rest of the line, whitespace and all, as Docker keeps it.
            return [(first, rest)]
        }
        return split.map { word in
            guard let equals = word.firstIndex(of: "=") else { return (word, nil) }
            return (String(word[..<equals]), String(word[word.index(after: equals)...]))
        }
    }
}
