import Foundation
import Testing
@testable import NativeRuntime

/// The launcher's side of the shim's report, against small stand-in shims.
struct ShimLauncherTests {
    func standIn(_ script: String) throws -> (path: String, directory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-shim-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/shim"
        try Data(("#!/bin/sh\n" + script).utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        return (path, directory)
    }

    @Test func readsTheVerdict() throws {
        let shim = try standIn("echo \"shim $$\"; echo ready 42 43\n")
        defer { try? FileManager.default.removeItem(atPath: shim.directory) }
        let process = try ShimLauncher(shimPath: shim.path).launch(specPath: "/dev/null", diagnosticsPath: shim.directory + "/log")
        #expect(process == ShimProcess(shimPID: 42, containerPID: 43))
    }

    @Test func passesOnSetupErrors() throws {
        let shim = try standIn("echo \"shim $$\"; echo error 127 exec: \\\"nope\\\": executable file not found in \\$PATH\n")
        defer { try? FileManager.default.removeItem(atPath: shim.directory) }
        #expect(throws: ShimError.setup(code: 127, message: "exec: \"nope\": executable file not found in $PATH")) {
            try ShimLauncher(shimPath: shim.path).launch(specPath: "/dev/null", diagnosticsPath: shim.directory + "/log")
        }
    }

    @Test func endsAShimWhoseSetupHangs() throws {
        // The stand-in reports a long-lived process as the shim, which then never answers.
        let shim = try standIn("sleep 300 & echo \"shim $!\" > \"$(dirname \"$0\")/pid\"; echo \"shim $!\"\n")
        defer { try? FileManager.default.removeItem(atPath: shim.directory) }
        let started = ContinuousClock.now
        #expect(throws: ShimError.setup(code: 125, message: "container setup did not finish within 0.5 seconds")) {
            try ShimLauncher(shimPath: shim.path, setupTimeout: .milliseconds(500))
                .launch(specPath: "/dev/null", diagnosticsPath: shim.directory + "/log")
        }
        #expect(started.duration(to: .now) < .seconds(5))
        let pid = try String(contentsOfFile: shim.directory + "/pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("shim ".count)
        usleep(100_000)
        let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ")[2]
        #expect(state == nil || state == "Z", "the hung shim \(pid) still runs")
    }
}
