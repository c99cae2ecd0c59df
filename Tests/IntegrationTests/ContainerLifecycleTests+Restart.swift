import Foundation
import Testing

extension ContainerLifecycleTests {
    /// Polls `docker inspect -f FORMAT` until it prints `expected` or `seconds` pass; returns the last answer.
    static func await(_ daemon: DaemonFixture, _ container: String, _ format: String, _ expected: String, seconds: Double) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        repeat {
            last = try docker(daemon, ["inspect", "-f", format, container]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if last == expected { return last }
            usleep(100_000)
        } while Date() < deadline
        return last
    }

    @Test func restartPoliciesBringContainersBack() async throws {
        try await Self.withImages { daemon in
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "flaky", "--restart", "on-failure:2", Self.image, "sh", "-c", "exit 3"]).status == 0)
            #expect(try Self.await(daemon, "flaky", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}", "exited 2 3", seconds: 15)
                == "exited 2 3")
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "keeper", "--restart", "always", Self.image, "sh", "-c", "sleep 0.3"]).status == 0)
            let restarted = try Self.await(daemon, "keeper", "{{.RestartCount}}", "2", seconds: 15)
            #expect(restarted == "2", "restart count \(restarted)")
            #expect(try Self.docker(daemon, ["stop", "-t", "1", "keeper"]).status == 0)
            let stopped = try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "keeper"]).stdout
            usleep(1_500_000)
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "keeper"]).stdout == stopped)
            #expect(stopped.hasPrefix("exited "), "\(stopped)")
            // The docker CLI refuses this itself; the daemon must too.
            let refused = try daemon.berth(["run", "--rm", "--restart", "always", Self.image, "true"])
            #expect(refused.status == 125 && refused.stderr.contains("AutoRemove"), "\(refused)")
            let unknown = try daemon.berth(["run", "--restart", "sometimes", Self.image, "true"])
            #expect(unknown.status == 125 && unknown.stderr.contains("invalid restart policy"), "\(unknown)")
            #expect(try Self.docker(daemon, ["rm", "-f", "flaky", "keeper"]).status == 0)
        }
    }
}
