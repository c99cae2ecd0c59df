import Foundation
import Testing

extension ContainerLifecycleTests {
    @Test func initReapsOrphansAndPassesSignals() async throws {
        try await Self.withImages { daemon in
            let tree = try Self.docker(daemon, ["run", "--rm", "--init", Self.image, "sh", "-c",
                                                "echo shell=$$; (sleep 30 &) ; cat /proc/1/status | grep ^Name; exit 6"])
            #expect(tree.status == 6, "\(tree)")
            #expect(tree.stdout.contains("Name:\tinit") && !tree.stdout.contains("shell=1\n"), "\(tree)")
            // `sleep` as PID 1 would ignore SIGTERM; under the init it ends at once.
            #expect(try Self.docker(daemon, ["run", "-d", "--init", "--name", "sleeper", Self.image, "sleep", "300"]).status == 0)
            let started = Date()
            #expect(try Self.docker(daemon, ["stop", "-t", "20", "sleeper"]).status == 0)
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.ExitCode}}", "sleeper"]).stdout == "143\n")
            #expect(try Self.docker(daemon, ["rm", "sleeper"]).status == 0)
        }
    }
}
