import Foundation
import Testing

/// Healthchecks through the docker CLI and docker-compose: verdicts, their events, the start
/// period, timeouts, an image's HEALTHCHECK, and compose waiting for a healthy service.
@Suite(.serialized) struct HealthcheckTests {
    static let image = ContainerLifecycleTests.image

    static func health(_ daemon: DaemonFixture, _ container: String) throws -> [String: Any] {
        let json = try ContainerLifecycleTests.docker(daemon, ["inspect", "-f", "{{json .State.Health}}", container]).stdout
        return (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
    }

    /// Waits for the container's health status to become `status`; returns the health last seen.
    static func waitFor(_ status: String, _ daemon: DaemonFixture, _ container: String, seconds: TimeInterval = 30) async throws
        -> [String: Any]
    {
        var last: [String: Any] = [:]
        _ = try await poll(seconds: seconds, every: .milliseconds(250)) { () -> Bool? in
            last = try health(daemon, container)
            return last["Status"] as? String == status ? true : nil
        }
        return last
    }

    @Test func passingFailingAndStartPeriodVerdictsWithEvents() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let docker = { (arguments: [String]) in try ContainerLifecycleTests.docker(daemon, arguments) }
            let since = String(Int(Date().timeIntervalSince1970) - 1)
            #expect(try docker(["run", "-d", "--name", "passing", "--health-cmd", "echo fine", "--health-interval", "1s",
                                Self.image, "sleep", "600"]).status == 0)
            #expect(try docker(["run", "-d", "--name", "failing", "--health-cmd", "echo broken; exit 1", "--health-interval", "1s",
                                "--health-retries", "2", Self.image, "sleep", "600"]).status == 0)
            // Failures in the first 4 s do not count; the probe passes from the 3rd second on.
            #expect(try docker(["run", "-d", "--name", "warming", "--health-cmd", "test -e /ready", "--health-interval", "1s",
                                "--health-retries", "1", "--health-start-period", "4s", Self.image,
                                "sh", "-c", "sleep 3; touch /ready; sleep 600"]).status == 0)
            #expect(try docker(["inspect", "-f", "{{.State.Health.Status}}", "passing"]).stdout == "starting\n")

            let passing = try await Self.waitFor("healthy", daemon, "passing")
            let passingLog = passing["Log"] as? [[String: Any]] ?? []
            #expect(passingLog.last?["ExitCode"] as? Int == 0 && passingLog.last?["Output"] as? String == "fine\n", "\(passing)")
            let failing = try await Self.waitFor("unhealthy", daemon, "failing")
            #expect(failing["FailingStreak"] as? Int ?? 0 >= 2, "\(failing)")
            #expect((failing["Log"] as? [[String: Any]])?.last?["Output"] as? String == "broken\n", "\(failing)")
            let warming = try await Self.waitFor("healthy", daemon, "warming")
            #expect(warming["FailingStreak"] as? Int == 0, "failures within the start period never counted: \(warming)")

            let listed = try docker(["ps", "--filter", "health=unhealthy", "--format", "{{.Names}} {{.Status}}"])
            #expect(listed.stdout.hasPrefix("failing Up ") && listed.stdout.hasSuffix("(unhealthy)\n"), "\(listed)")
            let events = try docker(["events", "--since", since, "--until", String(Int(Date().timeIntervalSince1970) + 1),
                                     "--filter", "type=container", "--format", "{{.Actor.Attributes.name}} {{.Action}}"])
            for expected in ["passing health_status: healthy", "failing health_status: unhealthy", "warming health_status: healthy"] {
                #expect(events.stdout.contains(expected + "\n"), "\(expected) in \(events.stdout)")
            }
            #expect(!events.stdout.contains("warming health_status: unhealthy"), "\(events.stdout)")
        }
    }

    @Test func timeoutsAndAnImagesHealthcheck() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let docker = { (arguments: [String]) in try ContainerLifecycleTests.docker(daemon, arguments) }
            #expect(try docker(["run", "-d", "--name", "slow", "--health-cmd", "sleep 10", "--health-interval", "1s",
                                "--health-timeout", "1s", "--health-retries", "1", Self.image, "sleep", "600"]).status == 0)
            let slow = try await Self.waitFor("unhealthy", daemon, "slow")
            let probe = (slow["Log"] as? [[String: Any]])?.first ?? [:]
            #expect(probe["ExitCode"] as? Int == -1 && (probe["Output"] as? String ?? "").contains("exceeded timeout"), "\(slow)")
            // Each timed-out probe is killed, not left running: after several, only the one in
            // progress (probes go on every second) may be there.
            try await Task.sleep(for: .seconds(4))
            let processes = try docker(["exec", "slow", "ps", "-o", "args"])
            #expect(processes.stdout.split(separator: "\n").filter { $0 == "sleep 10" }.count <= 1, "\(processes)")

            let context = daemon.scratch + "/healthy-image"
            try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
            try "FROM \(Self.image)\nHEALTHCHECK --interval=1s --retries=1 CMD [\"true\"]\nCMD [\"sleep\", \"600\"]\n"
                .write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
            #expect(try docker(["build", "-q", "-t", "with-healthcheck", context]).status == 0)
            #expect(try docker(["run", "-d", "--name", "inherited", "with-healthcheck"]).status == 0)
            _ = try await Self.waitFor("healthy", daemon, "inherited")
            #expect(try Self.health(daemon, "inherited")["Status"] as? String == "healthy")
            #expect(try docker(["run", "-d", "--name", "disabled", "--no-healthcheck", "with-healthcheck"]).status == 0)
            #expect(try docker(["inspect", "-f", "{{.State.Health}}", "disabled"]).stdout == "<nil>\n")
        }
    }

    /// docker-compose starts a service that depends on another's health only once it is healthy,
    /// and refuses to when it turns unhealthy.
    @Test func composeWaitsForAHealthyService() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let project = daemon.scratch + "/healthy-project"
            try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
            func write(_ readyAfter: String, exitCode: Int) throws {
                try """
                    version: "2.4"
                    services:
                      db:
                        image: \(Self.image)
                        command: sh -c 'sleep \(readyAfter); touch /ready; sleep 600'
                        healthcheck:
                          test: ["CMD-SHELL", "test -e /ready || exit \(exitCode)"]
                          interval: 1s
                          retries: 3
                      app:
                        image: \(Self.image)
                        command: sleep 600
                        depends_on:
                          db:
                            condition: service_healthy

                    """.write(toFile: project + "/docker-compose.yml", atomically: true, encoding: .utf8)
            }
            func compose(_ arguments: [String]) throws -> Command.Result {
                try Command.run(["docker-compose", "-p", "healthy", "-f", project + "/docker-compose.yml"] + arguments,
                                environment: ["DOCKER_HOST": daemon.host], timeout: 120)
            }
            try write("2", exitCode: 1)
            let up = try compose(["up", "-d"])
            #expect(up.status == 0, "\(up)")
            #expect(try Self.health(daemon, "healthy_db_1")["Status"] as? String == "healthy")
            let started = try ContainerLifecycleTests.docker(daemon, ["inspect", "-f", "{{.State.Running}}", "healthy_app_1"])
            #expect(started.stdout == "true\n", "\(started)")
            #expect(try compose(["down"]).status == 0)

            // Never ready: the app is not started and compose says why.
            try write("600", exitCode: 1)
            let refused = try compose(["up", "-d"])
            #expect(refused.status != 0 && refused.stderr.contains("unhealthy"), "\(refused)")
            let app = try ContainerLifecycleTests.docker(daemon, ["ps", "-a", "--filter", "name=healthy_app_1", "--format", "{{.State}}"])
            #expect(app.stdout != "running\n", "\(app)")
            _ = try compose(["down"])
        }
    }

    /// A container in a utility VM is probed the same way: each probe an exec relayed to the guest agent.
    @Test func aUtilityVMContainerIsProbedToo() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let run = try ContainerLifecycleTests.docker(daemon, [
                "run", "-d", "--name", "vm-probed", "--isolation", "vm", "--health-cmd", "test -e /proc/1", "--health-interval", "1s",
                Self.image, "sleep", "600",
            ], timeout: 180)
            #expect(run.status == 0, "\(run)")
            let health = try await Self.waitFor("healthy", daemon, "vm-probed", seconds: 90)
            #expect(health["Status"] as? String == "healthy", "\(health)")
            #expect(try ContainerLifecycleTests.docker(daemon, ["rm", "-f", "vm-probed"], timeout: 120).status == 0)
        }
    }
}
