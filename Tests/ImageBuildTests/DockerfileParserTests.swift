import ImageBuild
import OCI
import Testing

@Suite struct DockerfileParserTests {
    @Test func readsInstructionsFlagsAndForms() throws {
        let file = try DockerfileParser.parse("""
            # syntax=docker/dockerfile:1
            # a comment, not a directive any more
            FROM --platform=linux/arm64 busybox AS base
            run echo one && \\
                # a comment inside the continuation
                echo two

            COPY --chown=1:2 --chmod=755 a b /dest/
            CMD ["sh", "-c", "echo hi"]
            ENTRYPOINT [not json
            ONBUILD RUN echo child
            """)
        #expect(file.directives == ["syntax": "docker/dockerfile:1"])
        #expect(file.instructions.map(\.keyword) == ["FROM", "RUN", "COPY", "CMD", "ENTRYPOINT", "ONBUILD"])
        #expect(file.instructions.map(\.line) == [3, 4, 8, 9, 10, 11])
        #expect(file.instructions[0].flags == ["platform": "linux/arm64"])
        #expect(file.instructions[0].arguments.words == ["busybox", "AS", "base"])
        #expect(file.instructions[1].arguments == .shell("echo one && echo two"))
        #expect(file.instructions[2].flags == ["chown": "1:2", "chmod": "755"])
        #expect(file.instructions[2].arguments.words == ["a", "b", "/dest/"])
        #expect(file.instructions[3].arguments == .exec(["sh", "-c", "echo hi"]))
        #expect(file.instructions[4].arguments == .shell("[not json"), "invalid JSON falls back to shell form")
        #expect(file.instructions[5].trigger == .instruction(Instruction(line: 11, keyword: "RUN", arguments: .shell("echo child"))))
    }

    @Test func escapeDirectiveChangesTheContinuationCharacter() throws {
        let file = try DockerfileParser.parse("# escape=`\nFROM scratch\nRUN dir c:\\ `\n  /w\n")
        #expect(file.directives["escape"] == "`")
        #expect(file.instructions[1].arguments == .shell("dir c:\\ /w"))
    }

    @Test func errorsNameTheirLine() {
        #expect(throws: DockerfileError(line: 2, "unknown instruction: FROMM")) { try DockerfileParser.parse("FROM a\nFROMM b\n") }
        #expect(throws: DockerfileError(line: 1, "WORKDIR requires at least one argument")) { try DockerfileParser.parse("WORKDIR\n") }
        #expect(throws: DockerfileError(line: 1, "FROM isn't allowed as an ONBUILD trigger")) { try DockerfileParser.parse("ONBUILD FROM x\n") }
        #expect(throws: DockerfileError(line: 1, "invalid escape directive x: use \\ or `")) { try DockerfileParser.parse("# escape=x\nFROM a\n") }
    }

    @Test func expandsVariablesOutsideSingleQuotes() {
        let variables = ["NAME": "world", "EMPTY": ""]
        #expect(ShellWords.expand("hello $NAME ${NAME}!", variables) == "hello world world!")
        #expect(ShellWords.expand("${EMPTY:-fallback} ${NAME:-x} ${NAME:+set} ${MISSING:+set}.", variables) == "fallback world set .")
        #expect(ShellWords.expand("'$NAME' \\$NAME $", variables) == "'$NAME' $NAME $")
    }

    @Test func splitsWordsAndPairs() {
        #expect(ShellWords.words("a \"b c\" 'd e' f\\ g") == ["a", "b c", "d e", "f g"])
        #expect(ShellWords.words("c:\\dir a` b", escape: "`") == ["c:\\dir", "a b"], "with # escape=` a backslash is a plain character")
        #expect(ShellWords.expand("`$HOME $HOME", ["HOME": "/root"], escape: "`") == "$HOME /root")
        let pairs = ShellWords.pairs("A=1 B=\"two words\" C", allowsLegacyForm: true)
        #expect(pairs.map(\.0) == ["A", "B", "C"] && pairs.map(\.1) == ["1", "two words", nil])
        let legacy = ShellWords.pairs("PATH /usr/bin:/bin  and more", allowsLegacyForm: true)
        #expect(legacy.map(\.0) == ["PATH"] && legacy.map(\.1) == ["/usr/bin:/bin  and more"])
    }
}

@Suite struct BuildPlanTests {
    static let amd64 = Platform(os: "linux", architecture: "amd64")

    @Test func resolvesStagesArgumentsAndTarget() throws {
        let file = try DockerfileParser.parse("""
            ARG BASE=busybox
            ARG TAG
            FROM --platform=$BUILDPLATFORM ${BASE}:${TAG:-latest} AS Build
            RUN echo $TARGETARCH
            FROM scratch AS final
            COPY --from=build /out /
            FROM final AS extra
            """)
        let arm64 = Platform(os: "linux", architecture: "arm64")
        let plan = try BuildPlan.make(file, buildArguments: ["TAG": "1.36"], target: "final", platform: arm64, buildPlatform: Self.amd64)
        #expect(plan.stages.map(\.name) == ["build", "final"], "stages after the target are left out")
        #expect(plan.stages[0].base == "busybox:1.36" && plan.stages[0].platform == "linux/amd64")
        #expect(plan.stages[1].base == "scratch" && plan.stages[1].instructions.map(\.keyword) == ["COPY"])
        #expect(plan.globalArguments == ["BASE": "busybox", "TAG": "1.36"])
        #expect(plan.builtinArguments["TARGETARCH"] == "arm64" && plan.builtinArguments["BUILDPLATFORM"] == "linux/amd64")
        #expect(plan.stageIndex("build", before: 1) == 0 && plan.stageIndex("0", before: 1) == 0 && plan.stageIndex("final", before: 1) == nil)
    }

    @Test func refusesWhatCannotBeBuilt() throws {
        let plain = try DockerfileParser.parse("FROM a AS x\nFROM b AS x\n")
        #expect(throws: DockerfileError(line: 2, "duplicate stage name x")) {
            try BuildPlan.make(plain, buildArguments: [:], target: nil, platform: Self.amd64, buildPlatform: Self.amd64)
        }
        #expect(throws: DockerfileError(line: 1, "no build stage in current context: RUN before FROM")) {
            try BuildPlan.make(try DockerfileParser.parse("RUN true\n"), buildArguments: [:], target: nil, platform: Self.amd64,
                               buildPlatform: Self.amd64)
        }
        #expect(throws: DockerfileError(line: 1, "failed to reach build target y in Dockerfile")) {
            try BuildPlan.make(try DockerfileParser.parse("FROM a\n"), buildArguments: [:], target: "y", platform: Self.amd64,
                               buildPlatform: Self.amd64)
        }
        #expect(throws: DockerfileError(line: 1, "invalid platform linux/")) {
            try BuildPlan.make(try DockerfileParser.parse("FROM --platform=linux/ a\n"), buildArguments: [:], target: nil,
                               platform: Self.amd64, buildPlatform: Self.amd64)
        }
    }
}
