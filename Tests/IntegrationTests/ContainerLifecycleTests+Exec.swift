import Foundation
import Testing

extension ContainerLifecycleTests {
    static let driveTTY = TestPaths.repository + "/Tests/Fixtures/drive-tty"

    /// Runs `command` in a pseudo-terminal through Tests/Fixtures/drive-tty with JSON `steps`.
    static func throughTerminal(_ steps: String, _ command: [String]) throws -> Command.Result {
        try Command.run([driveTTY, "30", steps, "--"] + command, timeout: 60)
    }

    @Test func interactiveTerminalDetachesAndReattaches() async throws {
        try await Self.withImages { daemon in
            let docker = ["docker", "-H", daemon.host]
            let run = try Self.throughTerminal(
                ##"[{"expect":"# "},{"send":"echo $((40+2))\r"},{"expect":"42"},{"send":"\u0010\u0011"}]"##,
                docker + ["run", "-it", "--name", "shell", Self.image, "sh"])
            #expect(run.status == 0, "Ctrl-P Ctrl-Q should detach: \(run)")
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.Running}}", "shell"]).stdout == "true\n")
            let attach = try Self.throughTerminal(
                ##"[{"send":"echo $((50+3))\r"},{"expect":"53"},{"send":"tty; exit 9\r"}]"##, docker + ["attach", "shell"])
            #expect(attach.status == 9 && attach.stdout.contains("/dev/pts/0"), "\(attach)")
        }
    }

    @Test func execJoinsTheRunningContainer() async throws {
        try await Self.withImages { daemon in
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "box", "--cap-drop", "NET_RAW", Self.image, "sleep", "300"]).status == 0)
            let inside = try Self.docker(daemon, ["exec", "box", "sh", "-c",
                                                  "cat /proc/1/cmdline | tr '\\0' ' '; hostname; grep -E '^(CapBnd|Seccomp):' /proc/self/status | tr -d '\\t'; exit 4"])
            let hostname = try Self.docker(daemon, ["inspect", "-f", "{{.Config.Hostname}}", "box"]).stdout
            #expect(inside.status == 4, "\(inside)")
            #expect(inside.stdout == "sleep 300 " + hostname + "CapBnd:00000000a80405fb\nSeccomp:2\n", "\(inside)")
            let piped = try Self.docker(daemon, ["exec", "-i", "box", "cat"], input: Data("to exec\n".utf8))
            #expect(piped.stdout == "to exec\n", "\(piped)")
            #expect(try Self.docker(daemon, ["exec", "-u", "nobody", "box", "id", "-u"]).stdout == "65534\n")
            let missing = try Self.docker(daemon, ["exec", "box", "no-such-command"])
            // dockerd records 126 for any exec whose process could not start (docker-py's suite checks it).
            #expect(missing.status == 126 && missing.stdout.contains("executable file not found"), "\(missing)")
            #expect(try Self.docker(daemon, ["exec", "-d", "box", "sh", "-c", "echo later > /tmp/mark"]).status == 0)
            usleep(300_000)
            #expect(try Self.docker(daemon, ["exec", "box", "cat", "/tmp/mark"]).stdout == "later\n")
            let terminal = try Self.throughTerminal(##"[{"expect":"# "},{"send":"tty; exit 3\r"}]"##,
                                                    ["docker", "-H", daemon.host, "exec", "-it", "box", "sh"])
            #expect(terminal.status == 3 && terminal.stdout.contains("/dev/pts/"), "\(terminal)")
            // Sized from its start (Docker's ConsoleSize), not only once a resize arrives; and an exec
            // that ends at once leaves no stray error in its output.
            let sized = try Self.throughTerminal(##"[{"expect":"24 80"}]"##, ["docker", "-H", daemon.host, "exec", "-it", "box", "stty", "size"])
            #expect(sized.status == 0 && sized.stdout.contains("24 80") && !sized.stdout.contains("channel"), "\(sized)")
            let script = """
                import docker, sys
                client = docker.DockerClient(base_url=sys.argv[1])
                result = client.containers.get("box").exec_run(["sh", "-c", "echo py; exit 2"])
                print(result.exit_code, result.output.decode().strip())
                """
            #expect(try Command.succeed(["python3", "-c", script, daemon.host]) == "2 py\n")
            let stopped = try Self.docker(daemon, ["rm", "-f", "box"])
            #expect(stopped.status == 0)
        }
    }
}
