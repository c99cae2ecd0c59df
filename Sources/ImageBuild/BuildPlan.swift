import OCI

/// A Dockerfile's stages as a build runs them: each stage's base (an image, `scratch`, or an earlier
/// stage) with its FROM's variables resolved, up to the `--target` stage.
public struct BuildPlan: Sendable, Equatable {
    public struct Stage: Sendable, Equatable {
        /// The `AS` name, lowercased, if any.
        public var name: String?
        /// An image reference, `scratch`, or an earlier stage's name or index.
        public var base: String
        /// `FROM --platform=…`, resolved; nil for the build's own.
        public var platform: String?
        public var line: Int
        public var instructions: [Instruction]
    }

    public var stages: [Stage]
    /// ARGs declared before the first FROM with their values (build args override the defaults);
    /// a stage sees one only after re-declaring it.
    public var globalArguments: [String: String]
    /// TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT and the BUILD* ones: every stage may use them.
    public var builtinArguments: [String: String]
    /// `--build-arg`s: they give a declared ARG its value.
    public var buildArguments: [String: String]
    /// The `# escape` directive's character, for word and variable processing too.
    public var escape: Character

    public static func make(_ file: Dockerfile, buildArguments: [String: String], target: String?, platform: Platform,
                            buildPlatform: Platform) throws -> BuildPlan {
        let escape: Character = file.directives["escape"] == "`" ? "`" : "\\"
        var builtins: [String: String] = [:]
        for (prefix, value) in [("TARGET", platform), ("BUILD", buildPlatform)] {
            builtins[prefix + "PLATFORM"] = value.description
            builtins[prefix + "OS"] = value.os
            builtins[prefix + "ARCH"] = value.architecture
            builtins[prefix + "VARIANT"] = value.variant ?? ""
        }
        var globals: [String: String] = [:]
        var stages: [Stage] = []
        for instruction in file.instructions {
            switch instruction.keyword {
            case "ARG" where stages.isEmpty:
                for (name, defaultValue) in ShellWords.pairs(ShellWords.expand(instruction.arguments.text, globals.merging(builtins) { a, _ in a },
                                                                                      escape: escape),
                                                             allowsLegacyForm: false, escape: escape) {
                    globals[name] = buildArguments[name] ?? defaultValue ?? ""
                }
            case "FROM":
                let scope = builtins.merging(globals) { $1 }
                let words = ShellWords.words(ShellWords.expand(instruction.arguments.text, scope, escape: escape), escape: escape)
                guard words.count == 1 || (words.count == 3 && words[1].lowercased() == "as") else {
                    throw DockerfileError(line: instruction.line, "FROM takes an image and optionally AS name")
                }
                let name = words.count == 3 ? words[2].lowercased() : nil
                if let name, stages.contains(where: { $0.name == name }) {
                    throw DockerfileError(line: instruction.line, "duplicate stage name \(name)")
                }
                let stagePlatform = instruction.flags["platform"].map { ShellWords.expand($0, scope, escape: escape) }
                if let stagePlatform, (try? Platform(parsing: stagePlatform)) == nil {
                    throw DockerfileError(line: instruction.line, "invalid platform \(stagePlatform)")
                }
                stages.append(Stage(name: name, base: words[0], platform: stagePlatform, line: instruction.line, instructions: []))
            default:
                guard !stages.isEmpty else {
                    throw DockerfileError(line: instruction.line, "no build stage in current context: \(instruction.keyword) before FROM")
                }
                stages[stages.count - 1].instructions.append(instruction)
            }
        }
        guard !stages.isEmpty else { throw DockerfileError(line: 1, "no build stage in current context: the Dockerfile has no FROM") }
        if let target {
            guard let index = stages.firstIndex(where: { $0.name == target.lowercased() }) else {
                throw DockerfileError(line: 1, "failed to reach build target \(target) in Dockerfile")
            }
            stages = Array(stages.prefix(index + 1))
        }
        return BuildPlan(stages: stages, globalArguments: globals, builtinArguments: builtins, buildArguments: buildArguments,
                         escape: escape)
    }

    /// The stage an earlier stage's name or index refers to, for FROM and COPY --from.
    public func stageIndex(_ reference: String, before index: Int) -> Int? {
        if let number = Int(reference), number >= 0, number < index { return number }
        return stages.prefix(index).firstIndex { $0.name == reference.lowercased() }
    }
}
