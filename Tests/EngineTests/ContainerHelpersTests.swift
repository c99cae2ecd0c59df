import APIModels
import Foundation
import Testing
@testable import Engine

struct ContainerHelpersTests {
    @Test func logsAreFilteredAndReadAcrossRotations() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/c-json.log"
        func line(_ text: String, _ stream: String, _ second: Int) -> String {
            #"{"log":"\#(text)\n","stream":"\#(stream)","time":"2026-11-25T10:00:0\#(second).000000001Z"}"# + "\n"
        }
        try (line("one", "stdout", 1) + line("two", "stderr", 2)).write(toFile: path + ".1", atomically: true, encoding: .utf8)
        // The last line is still being written: it is not returned yet.
        try (line("three", "stdout", 3) + line("four", "stdout", 4) + #"{"log":"half"#).write(toFile: path, atomically: true, encoding: .utf8)
        let logs = ContainerLogs(path: path)
        var options = ContainerLogs.Options()
        #expect(logs.read(options).entries.map(\.text) == ["one\n", "two\n", "three\n", "four\n"])
        options.stderr = false
        options.tail = 2
        #expect(logs.read(options).entries.map(\.text) == ["three\n", "four\n"])
        options = ContainerLogs.Options()
        options.since = ContainerLogs.seconds("2026-11-25T10:00:02Z")
        options.until = ContainerLogs.seconds("2026-11-25T10:00:04Z")
        #expect(logs.read(options).entries.map(\.text) == ["two\n", "three\n"])
        let offset = logs.read(ContainerLogs.Options()).offset
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"","stream":"stdout","time":"2026-11-25T10:00:05Z"}"#.utf8 + [10]))
        try handle.close()
        #expect(LogFollower(logs, from: offset, options: ContainerLogs.Options()).next().map(\.text) == ["half"])
    }

    @Test func criLogLinesAreReadWithTheirPartsAndStreams() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cri-\(UUID().uuidString).log").path
        defer { unlink(path) }
        // kubelet's format: F ends a line (its newline dropped), P is part of one longer than a write.
        let text = """
            2026-12-03T10:00:01.000000001Z stdout F serving
            2026-12-03T10:00:02.000000001Z stderr P a long li
            2026-12-03T10:00:02.000000002Z stderr F ne, in two parts
            2026-12-03T10:00:03.000000001Z stdout F
            2026-12-03T10:00:04.000000001Z stdout F spaces  kept  inside

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let logs = ContainerLogs(path: path)
        #expect(logs.read(ContainerLogs.Options()).entries.map(\.text)
            == ["serving\n", "a long li", "ne, in two parts\n", "\n", "spaces  kept  inside\n"])
        var options = ContainerLogs.Options()
        options.stdout = false
        #expect(logs.read(options).entries.map(\.stream) == [2, 2])
        options = ContainerLogs.Options()
        options.since = ContainerLogs.seconds("2026-12-03T10:00:03Z")
        #expect(logs.read(options).entries.count == 2)
    }

    @Test func signalsSizesNamesAndChanges() throws {
        #expect(ContainerLaunchPlan.signal(named: "SIGTERM") == SIGTERM)
        #expect(ContainerLaunchPlan.signal(named: "kill") == SIGKILL)
        #expect(ContainerLaunchPlan.signal(named: "9") == 9)
        #expect(ContainerLaunchPlan.signal(named: "NOPE") == nil)
        #expect(ContainerLaunchPlan.parseSize("10m") == 10 << 20 && ContainerLaunchPlan.parseSize("512") == 512)
        #expect(ContainerLaunchPlan.parseSize("x") == nil)
        #expect(ContainerNames.isValid("web-1.a_b") && !ContainerNames.isValid("-web") && !ContainerNames.isValid("a b"))
        var config = ContainerConfig()
        try ConfigChange.apply("CMD [\"echo\", \"hi\"]", to: &config)
        try ConfigChange.apply("ENTRYPOINT run me", to: &config)
        try ConfigChange.apply("ENV A=1 B=2", to: &config)
        try ConfigChange.apply("EXPOSE 80", to: &config)
        #expect(config.Cmd?.values == ["echo", "hi"] && config.Entrypoint?.values == ["/bin/sh", "-c", "run me"])
        #expect(config.Env == ["A=1", "B=2"] && config.ExposedPorts?.keys.sorted() == ["80/tcp"])
        #expect(throws: ContainerError.self) { try ConfigChange.apply("RUN rm -rf /", to: &config) }
    }
}
