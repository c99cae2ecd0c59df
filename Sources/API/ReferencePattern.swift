/// Docker's `reference` filter: a `repository[:tag]` pattern with `*` wildcards (not crossing `/`).
enum ReferencePattern {
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let (patternRepository, patternTag) = split(pattern)
        let (repository, tag) = split(name)
        guard glob(Array(patternRepository), Array(repository)) else { return false }
        return patternTag.map { glob(Array($0), Array(tag ?? "")) } ?? true
    }

    private static func split(_ text: String) -> (String, String?) {
        guard let colon = text.lastIndex(of: ":"), !text[colon...].contains("/") else { return (text, nil) }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// Row by row over the pattern, `matched[n]`: whether the pattern so far matches the text's
    /// first n characters. Time is pattern × text; trying each way a `*` could match would be
    /// exponential in the number of `*`s a client sends.
    private static func glob(_ pattern: [Character], _ text: [Character]) -> Bool {
        var matched = [true] + Array(repeating: false, count: text.count)
        for symbol in pattern {
            var next = Array(repeating: false, count: text.count + 1)
            if symbol == "*" {
                // Nothing more, or one more character that is not `/`.
                next[0] = matched[0]
                for end in text.indices { next[end + 1] = matched[end + 1] || (next[end] && text[end] != "/") }
            } else {
                for end in text.indices { next[end + 1] = matched[end] && text[end] == symbol }
            }
            matched = next
        }
        return matched[text.count]
    }
}
