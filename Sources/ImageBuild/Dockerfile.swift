/// A parsed Dockerfile: its parser directives and its instructions in order, each with the line it
/// starts on, so errors can name it.
public struct Dockerfile: Sendable, Equatable {
    /// `# syntax=…`, `# escape=…` and others from the file's first lines, keys lowercased.
    public var directives: [String: String]
    public var instructions: [Instruction]

    public init(directives: [String: String], instructions: [Instruction]) {
        self.directives = directives
        self.instructions = instructions
    }
}

/// One instruction: `COPY --chown=1:1 a b` is keyword `COPY`, flags `["chown": "1:1"]`, arguments `a b`.
public struct Instruction: Sendable, Equatable {
    public enum Arguments: Sendable, Equatable {
        /// Shell form: the text after the keyword and flags, continuation lines joined.
        case shell(String)
        /// Exec form: a JSON array of strings.
        case exec([String])

        /// Shell form's text, or exec form's words joined by spaces.
        public var text: String {
            switch self {
            case .shell(let text): return text
            case .exec(let words): return words.joined(separator: " ")
            }
        }

        /// The words of either form: exec form as given, shell form split on whitespace.
        public var words: [String] {
            switch self {
            case .exec(let words): return words
            case .shell(let text): return text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            }
        }
    }

    /// 1-based line the instruction starts on.
    public var line: Int
    /// Uppercased.
    public var keyword: String
    /// `--name=value` options before the arguments (a bare `--name` has the value "true").
    public var flags: [String: String]
    public var arguments: Arguments
    /// For ONBUILD: the instruction it stores for child images.
    public indirect enum Trigger: Sendable, Equatable { case none, instruction(Instruction) }
    public var trigger: Trigger = .none

    public init(line: Int, keyword: String, flags: [String: String] = [:], arguments: Arguments) {
        self.line = line
        self.keyword = keyword
        self.flags = flags
        self.arguments = arguments
    }
}

public struct DockerfileError: Error, CustomStringConvertible, Equatable {
    public var line: Int
    public var message: String

    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "Dockerfile:\(line): \(message)" }
}
