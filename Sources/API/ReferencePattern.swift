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

    private static func glob(_ pattern: [Character], _ text: [Character]) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        if first == "*" {
            var index = 0
            while true {
                if glob(Array(pattern.dropFirst()), Array(text[index...])) { return true }
                guard index < text.count, text[index] != "/" else { return false }
                index += 1
            }
        }
        guard let head = text.first, head == first else { return false }
        return glob(Array(pattern.dropFirst()), Array(text.dropFirst()))
    }
}
