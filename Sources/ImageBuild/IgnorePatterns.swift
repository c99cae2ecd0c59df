import Foundation

/// A `.dockerignore`: patterns matched against paths relative to the context's root, in order, the
/// last match deciding; `!` re-includes, `**` spans any number of directories, and a pattern that
/// matches a directory excludes everything under it.
public struct IgnorePatterns: Sendable, Equatable {
    struct Pattern: Sendable, Equatable {
        var components: [String]
        var exclusion: Bool
    }

    var patterns: [Pattern]

    /// One pattern per line; `#` comments and blank lines are skipped, paths are cleaned (a leading
    /// `/` or `./`, doubled and trailing slashes).
    public init(_ text: String) {
        patterns = text.split(separator: "\n").compactMap { raw in
            var line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
            let exclusion = line.hasPrefix("!")
            if exclusion { line = line.dropFirst().trimmingCharacters(in: .whitespaces) }
            let components = line.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
            guard !components.isEmpty else { return nil }
            return Pattern(components: components, exclusion: exclusion)
        }
    }

    /// Whether `path` (relative, "/"-separated) is left out of the context.
    public func excludes(_ path: String) -> Bool {
        let components = path.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
        var excluded = false
        for pattern in patterns {
            // A match of the path or of any directory above it.
            let matched = (1...max(components.count, 1)).contains { length in
                Self.match(pattern.components[...], Array(components.prefix(length))[...])
            }
            if matched { excluded = !pattern.exclusion }
        }
        return excluded
    }

    /// Whether any pattern re-includes something: then an excluded directory must still be walked.
    public var hasExclusions: Bool { patterns.contains(where: \.exclusion) }

    static func match(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            let rest = pattern.dropFirst()
            return (path.startIndex...path.endIndex).contains { match(rest, path[$0...]) }
        }
        guard let component = path.first, Glob.matches(first, component) else { return false }
        return match(pattern.dropFirst(), path.dropFirst())
    }
}

/// Go's `filepath.Match` for one path component: `*`, `?`, `[class]` with ranges and `^`/`!`
/// negation, and `\` escapes.
public enum Glob {
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        matches(Array(pattern)[...], Array(name)[...])
    }

    /// Whether `pattern` has anything a glob expands.
    public static func isPattern(_ text: String) -> Bool {
        text.contains { "*?[\\".contains($0) }
    }

    static func matches(_ pattern: ArraySlice<Character>, _ name: ArraySlice<Character>) -> Bool {
        guard let first = pattern.first else { return name.isEmpty }
        switch first {
        case "*":
            let rest = pattern.dropFirst()
            return (name.startIndex...name.endIndex).contains { matches(rest, name[$0...]) }
        case "?":
            guard !name.isEmpty else { return false }
            return matches(pattern.dropFirst(), name.dropFirst())
        case "[":
            guard let character = name.first, let (matched, rest) = matchClass(pattern.dropFirst(), character) else { return false }
            return matched && matches(rest, name.dropFirst())
        case "\\":
            let escaped = pattern.dropFirst()
            guard let literal = escaped.first, name.first == literal else { return false }
            return matches(escaped.dropFirst(), name.dropFirst())
        default:
            guard name.first == first else { return false }
            return matches(pattern.dropFirst(), name.dropFirst())
        }
    }

    /// A `[...]` class after its `[`: whether `character` is in it, and the pattern after its `]`;
    /// nil when the class never closes.
    static func matchClass(_ pattern: ArraySlice<Character>, _ character: Character) -> (Bool, ArraySlice<Character>)? {
        var rest = pattern
        let negated = rest.first == "^" || rest.first == "!"
        if negated { rest = rest.dropFirst() }
        var found = false
        var first = true
        while let next = rest.first {
            if next == "]", !first { return (found != negated, rest.dropFirst()) }
            first = false
            var low = next
            rest = rest.dropFirst()
            if low == "\\", let escaped = rest.first { low = escaped; rest = rest.dropFirst() }
            var high = low
            if rest.first == "-", let end = rest.dropFirst().first, end != "]" {
                high = end
                rest = rest.dropFirst(2)
            }
            if low <= character && character <= high { found = true }
        }
        return nil
    }
}
