import Foundation
import Testing

extension ContainerLifecycleTests {
    @Test func berthCLIManagesRunningContainers() async throws {
        try await Self.withImages { daemon in
            #expect(try daemon.berth(["run", "-d", "--name", "svc", Self.image, "sleep", "300"]).status == 0)
            // Docker's --format templates.
            #expect(try daemon.berth(["ps", "--format", "{{.Names}} {{.State}} {{.Command}}"]).stdout == "svc running \"sleep 300\"\n")
            let table = try daemon.berth(["ps", "--format", "table {{.ID}}\\t{{.Names}}"]).stdout.split(separator: "\n")
            #expect(table.count == 2 && table[0].hasPrefix("CONTAINER ID") && table[0].hasSuffix("NAMES") && table[1].hasSuffix("svc"),
                    "\(table)")
            let inspected = try daemon.berth(["inspect", "-f", "{{.State.Status}} {{json .Config.Cmd}} {{.HostConfig.Privileged}}", "svc"])
            #expect(inspected.stdout == "running [\"sleep\",\"300\"] false\n", "\(inspected)")
            let bad = try daemon.berth(["inspect", "-f", "{{.State.Status", "svc"])
            #expect(bad.status != 0 && bad.stderr.contains("unclosed action"), "\(bad)")
            let exec = try daemon.berth(["exec", "svc", "sh", "-c", "echo inside; exit 5"])
            #expect(exec.status == 5 && exec.stdout == "inside\n", "\(exec)")
            let piped = try Command.run([TestPaths.berth, "-H", daemon.host, "exec", "-i", "svc", "cat"], input: Data("typed\n".utf8))
            #expect(piped.stdout == "typed\n", "\(piped)")
            let scratch = daemon.scratch + "/cli-cp"
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            try "to the container\n".write(toFile: scratch + "/note", atomically: true, encoding: .utf8)
            #expect(try daemon.berth(["cp", scratch + "/note", "svc:/tmp"]).status == 0)
            #expect(try daemon.berth(["exec", "svc", "cat", "/tmp/note"]).stdout == "to the container\n")
            #expect(try daemon.berth(["cp", "svc:/etc/hostname", scratch + "/hostname"]).status == 0)
            #expect(try String(contentsOfFile: scratch + "/hostname", encoding: .utf8).count == 13)
            #expect(try daemon.berth(["diff", "svc"]).stdout.contains("A /tmp/note"))
            #expect(try daemon.berth(["top", "svc"]).stdout.contains("sleep 300"))
            let stats = try daemon.berth(["stats", "--no-stream", "svc"])
            #expect(stats.stdout.contains("svc") && stats.stdout.components(separatedBy: "MEM USAGE").count == 2, "\(stats)")
            // Without --no-stream the table is printed again every second until interrupted.
            let streamed = try daemon.berth(["stats", "svc"], timeout: 3.5)
            #expect(streamed.timedOut && streamed.stdout.components(separatedBy: "MEM USAGE").count >= 3, "\(streamed)")
            #expect(try daemon.berth(["pause", "svc"]).status == 0)
            #expect(try daemon.berth(["ps"]).stdout.contains("(Paused)"))
            #expect(try daemon.berth(["unpause", "svc"]).status == 0)
            #expect(try daemon.berth(["rename", "svc", "service"]).status == 0)
            // The terminal's size reaches the exec's tty from its start.
            let sized = try Self.throughTerminal(##"[{"expect":"24 80"}]"##,
                                                 [TestPaths.berth, "-H", daemon.host, "exec", "-it", "service", "stty", "size"])
            #expect(sized.status == 0 && sized.stdout.contains("24 80"), "\(sized)")
            let commit = try daemon.berth(["commit", "-c", "CMD cat /tmp/note", "service", "localhost/from-cli:1"])
            #expect(commit.status == 0 && commit.stdout.hasPrefix("sha256:"), "\(commit)")
            #expect(try daemon.berth(["run", "--rm", "localhost/from-cli:1"]).stdout == "to the container\n")
            #expect(try daemon.berth(["rm", "-f", "service"]).status == 0)
            #expect(try daemon.berth(["run", "--name", "finished", Self.image, "true"]).status == 0)
            let prune = try daemon.berth(["container", "prune", "-f"])
            #expect(prune.stdout.contains("Deleted Containers:") && prune.stdout.split(separator: "\n").count == 2, "\(prune)")
        }
    }
}
