import Foundation
import ImageBuild
import Testing

@Suite struct BuildContextTests {
    @Test func globsFollowGosMatch() {
        #expect(Glob.matches("*.txt", "a.txt") && !Glob.matches("*.txt", "a.txt.bak"))
        #expect(Glob.matches("fil?", "file") && !Glob.matches("fil?", "fil"))
        #expect(Glob.matches("[a-c]x", "bx") && !Glob.matches("[^a-c]x", "bx") && Glob.matches("[!a-c]x", "dx"))
        #expect(Glob.matches("\\*", "*") && !Glob.matches("\\*", "a"))
        #expect(!Glob.matches("[a-", "a"), "an unclosed class matches nothing")
    }

    @Test func ignorePatternsDecideByTheLastMatch() {
        let ignore = IgnorePatterns("""
            # build output
            /build
            *.log
            docs/**/*.tmp
            !important.log

            """)
        #expect(ignore.excludes("build") && ignore.excludes("build/x/y"), "a directory takes what is under it")
        #expect(ignore.excludes("debug.log") && !ignore.excludes("important.log"))
        #expect(!ignore.excludes("sub/debug.log"), "*.log is for the top level only")
        #expect(ignore.excludes("docs/a.tmp") && ignore.excludes("docs/x/y/a.tmp") && !ignore.excludes("docs/a.md"))
        #expect(!ignore.excludes("src/main.c"))
    }

    @Test func removingIgnoredFilesKeepsReincludedOnesAndNeverFollowsLinks() throws {
        let root = NSTemporaryDirectory() + "context-\(UUID().uuidString)"
        let outside = NSTemporaryDirectory() + "outside-\(UUID().uuidString)"
        defer { for path in [root, outside] { try? FileManager.default.removeItem(atPath: path) } }
        try FileManager.default.createDirectory(atPath: root + "/ignored/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "keep".write(toFile: outside + "/victim", atomically: true, encoding: .utf8)
        for path in ["kept", "ignored/file", "ignored/sub/excepted", "Dockerfile"] {
            try path.write(toFile: root + "/" + path, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/ignored/link", withDestinationPath: outside)
        try "ignored\n!ignored/sub/excepted\nDockerfile\n.dockerignore\n"
            .write(toFile: root + "/.dockerignore", atomically: true, encoding: .utf8)
        try BuildContext(root: root).removeIgnored()
        let left = try FileManager.default.subpathsOfDirectory(atPath: root).sorted()
        #expect(left == ["ignored", "ignored/sub", "ignored/sub/excepted", "kept"], "\(left)")
        #expect(FileManager.default.fileExists(atPath: outside + "/victim"), "a link's target is not the context's")
    }

    @Test func resolvesSourcesInsideTheRootAndHashesContent() throws {
        let root = NSTemporaryDirectory() + "context-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/src/deep", withIntermediateDirectories: true)
        for (path, text) in [("src/a.c", "int a;"), ("src/b.c", "int b;"), ("src/deep/c.h", "#pragma once"), ("notes.log", "x")] {
            try text.write(toFile: root + "/" + path, atomically: true, encoding: .utf8)
        }
        try "*.log\nsrc/b.c\n".write(toFile: root + "/.dockerignore", atomically: true, encoding: .utf8)
        let context = BuildContext(root: root)
        #expect(try context.resolve("src/*.c") == ["src/a.c"], "ignored files do not match")
        #expect(try context.resolve("../../src/./deep") == ["src/deep"], "no way out of the root")
        #expect(throws: BuildContextError.notFound("notes.log: no such file or directory in the build context")) {
            try context.resolve("notes.log")
        }
        #expect(context.walk("src") == ["src", "src/a.c", "src/deep", "src/deep/c.h"])

        let before = try context.checksum(["src"])
        #expect(try context.checksum(["src"]) == before, "the same content hashes the same")
        try "int b = 2;".write(toFile: root + "/src/b.c", atomically: true, encoding: .utf8)
        #expect(try context.checksum(["src"]) == before, "an ignored file does not count")
        try "int a = 1;".write(toFile: root + "/src/a.c", atomically: true, encoding: .utf8)
        #expect(try context.checksum(["src"]) != before)
    }
}
