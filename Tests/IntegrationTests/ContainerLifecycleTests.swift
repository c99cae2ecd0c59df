import Foundation
import Testing

/// Native containers through the real docker CLI, docker-py and the berth CLI.
@Suite(.serialized) struct ContainerLifecycleTests {
    static let image = "berth-test/busybox:amd64"

    /// A daemon with the test busybox images loaded.
    static func withImages<T>(_ body: (DaemonFixture) async throws -> T) async throws -> T {
        let built = try TestImageTests.build(into: nil)
        return try await DaemonFixture.with { daemon in
            let archive = daemon.scratch + "/busybox.tar"
            try Command.succeed(["tar", "-cf", archive, "-C", built.layout, "."])
            try Command.succeed(["docker", "-H", daemon.host, "load", "-i", archive])
            return try await body(daemon)
        }
    }

    static func docker(_ daemon: DaemonFixture, _ arguments: [String], input: Data? = nil, timeout: TimeInterval = 60) throws
        -> Command.Result
    {
        try Command.run(["docker", "-H", daemon.host] + arguments, input: input, timeout: timeout)
    }

    @Test func dockerRunPrintsOutputAndReturnsExitCodes() async throws {
        try await Self.withImages { daemon in
            let hello = try Self.docker(daemon, ["run", "--rm", Self.image, "echo", "hi"])
            #expect(hello.status == 0 && hello.stdout == "hi\n", "\(hello)")
            let split = try Self.docker(daemon, ["run", "--rm", Self.image, "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(split.status == 3 && split.stdout == "out\n" && split.stderr == "err\n", "\(split)")
            let missing = try Self.docker(daemon, ["run", "--rm", Self.image, "no-such-command"])
            #expect(missing.status == 127 && missing.stderr.contains("executable file not found"), "\(missing)")
            let notExecutable = try Self.docker(daemon, ["run", "--rm", Self.image, "/etc/passwd"])
            #expect(notExecutable.status == 126, "\(notExecutable)")
            let piped = try Self.docker(daemon, ["run", "-i", "--rm", Self.image, "cat"], input: Data("through stdin\n".utf8))
            #expect(piped.status == 0 && piped.stdout == "through stdin\n", "\(piped)")
            let left = try Self.docker(daemon, ["ps", "-a", "-q"])
            #expect(left.stdout.isEmpty, "--rm containers remain: \(left.stdout)")
        }
    }

    @Test func dockerDetachedContainerLogsStopsAndIsRemoved() async throws {
        try await Self.withImages { daemon in
            let run = try Self.docker(daemon, ["run", "-d", "--name", "ticker", Self.image, "sh", "-c",
                                               "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done"])
            #expect(run.status == 0 && run.stdout.count == 65, "\(run)")
            let listed = try Self.docker(daemon, ["ps", "--format", "{{.Names}} {{.State}}"])
            #expect(listed.stdout == "ticker running\n", "\(listed)")
            usleep(600_000)
            let logs = try Self.docker(daemon, ["logs", "ticker"])
            #expect(logs.stdout.hasPrefix("line 0\nline 1\n"), "\(logs)")
            let stop = try Self.docker(daemon, ["stop", "-t", "1", "ticker"])
            #expect(stop.status == 0, "\(stop)")
            let state = try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ticker"])
            // sh as PID 1 ignores SIGTERM, so the stop ends in SIGKILL.
            #expect(state.stdout == "exited 137\n", "\(state)")
            let followed = try Self.docker(daemon, ["logs", "-f", "ticker"], timeout: 20)
            #expect(!followed.timedOut && followed.stdout.split(separator: "\n").count >= 5, "\(followed)")
            #expect(try Self.docker(daemon, ["rm", "ticker"]).status == 0)
            #expect(try Self.docker(daemon, ["ps", "-a", "-q"]).stdout.isEmpty)
        }
    }

    @Test func containersGetDockersDefaultConfinement() async throws {
        try await Self.withImages { daemon in
            let probe = "grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t'; hostname; "
                + "cat /proc/keys | wc -c; grep ' / ' /proc/mounts | cut -d' ' -f3"
            let plain = try Self.docker(daemon, ["run", "--rm", Self.image, "sh", "-c", probe])
            let lines = plain.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 7, "\(plain)")
            #expect(lines.prefix(4) == ["CapEff:00000000a80425fb", "CapBnd:00000000a80425fb", "NoNewPrivs:0", "Seccomp:2"], "\(plain)")
            #expect(lines.count > 4 && lines[4].count == 12, "hostname should be the short ID: \(lines)")
            #expect(lines.suffix(2) == ["0", "overlay"], "\(lines)")
            let hardened = try Self.docker(daemon, ["run", "--rm", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
                                                    "--security-opt", "no-new-privileges", Self.image, "sh", "-c", probe])
            #expect(hardened.stdout.hasPrefix("CapEff:0000000000000400\nCapBnd:0000000000000400\nNoNewPrivs:1\nSeccomp:2\n"),
                    "\(hardened)")
            let privileged = try Self.docker(daemon, ["run", "--rm", "--privileged", Self.image, "sh", "-c", probe])
            #expect(privileged.stdout.contains("NoNewPrivs:0\nSeccomp:0\n") && !privileged.stdout.contains("CapBnd:00000000a80425fb"),
                    "\(privileged)")
            // The seccomp filter refuses namespace creation without CAP_SYS_ADMIN.
            let unshare = try Self.docker(daemon, ["run", "--rm", Self.image, "unshare", "-n", "true"])
            #expect(unshare.status != 0 && unshare.stderr.contains("Operation not permitted"), "\(unshare)")
            let user = try Self.docker(daemon, ["run", "--rm", "-u", "nobody", Self.image, "id"])
            #expect(user.stdout.hasPrefix("uid=65534(nobody) gid=65534"), "\(user)")
            let readOnly = try Self.docker(daemon, ["run", "--rm", "--read-only", Self.image, "touch", "/file"])
            #expect(readOnly.status != 0 && readOnly.stderr.contains("Read-only file system"), "\(readOnly)")
        }
    }

    @Test func limitsHold() async throws {
        try await Self.withImages { daemon in
            // The container sees its own limits where programs look for them, read-only.
            let visible = try Self.docker(daemon, ["run", "--rm", "-m", "64m", "--pids-limit", "30", Self.image, "sh", "-c",
                                                   "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; "
                                                       + "touch /sys/fs/cgroup/x 2>&1 | grep -c Read-only"])
            #expect(visible.stdout == "67108864\n30\n1\n", "\(visible)")
            let hog = try Self.docker(daemon, ["run", "--name", "hog", "-m", "64m", "--memory-swap", "64m", Self.image, "sh", "-c",
                                               "a=$(head -c 200000000 /dev/zero | tr '\\0' x); echo survived"], timeout: 120)
            #expect(hog.status == 137 && !hog.stdout.contains("survived"), "\(hog)")
            let oom = try Self.docker(daemon, ["inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog"])
            #expect(oom.stdout == "true 137\n", "\(oom)")
            let forks = try Self.docker(daemon, ["run", "--rm", "--pids-limit", "20", Self.image, "sh", "-c",
                                                 "(for i in $(seq 1 60); do sleep 2 & done) 2>/dev/null; set -- /proc/[0-9]*; echo $#"])
            let count = Int(forks.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 999
            #expect(count <= 20, "pids-limit 20 let \(count) processes run: \(forks)")
        }
    }

    @Test func containersSurviveDaemonKill() async throws {
        try await Self.withImages { daemon in
            var ids: [String] = []
            let writer = try Self.docker(daemon, ["run", "-d", Self.image, "sh", "-c",
                                                  "i=0; while true; do echo $i; i=$((i+1)); sleep 0.02; done"])
            ids.append(writer.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            for _ in 0..<4 {
                ids.append(try Self.docker(daemon, ["run", "-d", Self.image, "sleep", "600"]).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(ids.allSatisfy { $0.count == 64 }, "\(ids)")
            daemon.signal(SIGKILL)
            usleep(700_000)
            try daemon.start()
            let running = try Self.docker(daemon, ["ps", "-q", "--no-trunc"]).stdout.split(separator: "\n").map(String.init)
            #expect(Set(running) == Set(ids), "after the restart: \(running)")
            usleep(300_000)
            #expect(try Self.docker(daemon, ["stop", "-t", "1", ids[0]]).status == 0)
            let numbers = try Self.docker(daemon, ["logs", ids[0]]).stdout.split(separator: "\n").compactMap { Int($0) }
            #expect(numbers.count > 20 && numbers == Array(0..<numbers.count), "the log lost or reordered lines")
            #expect(try Self.docker(daemon, ["rm", "-f"] + ids).status == 0)
            #expect(try Self.docker(daemon, ["ps", "-a", "-q"]).stdout.isEmpty)
        }
    }

    @Test func removedContainersLeaveNothingBehind() async throws {
        try await Self.withImages { daemon in
            // Fifty at once, ten clients in parallel.
            let started = try Command.run(["sh", "-c", "seq 50 | xargs -P 10 -I{} docker -H \(daemon.host) run -d \(Self.image) sleep 60"],
                                          timeout: 300)
            let ids = started.stdout.split(separator: "\n").map(String.init)
            #expect(started.status == 0 && ids.count == 50 && Set(ids).count == 50, "\(started.stderr)")
            #expect(try Self.docker(daemon, ["ps", "-q"]).stdout.split(separator: "\n").count == 50)
            #expect(try Self.docker(daemon, ["rm", "-f"] + ids, timeout: 300).status == 0)
            let mountInfo = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(!mountInfo.contains(daemon.root), "mounts left under \(daemon.root)")
            for id in ids {
                for controller in ["memory", "cpu", "pids", "freezer", "unified"] {
                    #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(controller)/berth/\(id)"))
                }
                #expect(!FileManager.default.fileExists(atPath: daemon.root + "/containers/\(id)"))
            }
            let shims = try Command.run(["pgrep", "-f", "berth-shim \(daemon.execRoot)"]).stdout
            #expect(shims.isEmpty, "shims still running: \(shims)")
        }
    }

    @Test func dockerPyRunsLogsAndWaits() async throws {
        try await Self.withImages { daemon in
            let script = """
                import docker, sys
                client = docker.DockerClient(base_url=sys.argv[1])
                container = client.containers.run(sys.argv[2], ["sh", "-c", "echo from-py; exit 5"], detach=True)
                result = container.wait()
                print(result["StatusCode"], container.logs().decode().strip())
                container.remove()
                print(len(client.containers.list(all=True)))
                """
            let output = try Command.succeed(["python3", "-c", script, daemon.host, Self.image])
            #expect(output == "5 from-py\n0\n", "\(output)")
        }
    }

    @Test func berthCLIRunsListsAndRemoves() async throws {
        try await Self.withImages { daemon in
            let hello = try daemon.berth(["run", "--rm", Self.image, "echo", "hi"])
            #expect(hello.status == 0 && hello.stdout == "hi\n", "\(hello)")
            let failing = try daemon.berth(["run", "--rm", Self.image, "sh", "-c", "exit 7"])
            #expect(failing.status == 7, "\(failing)")
            let missing = try daemon.berth(["run", "--rm", Self.image, "nope"])
            #expect(missing.status == 127 && missing.stderr.contains("executable file not found"), "\(missing)")
            let detached = try daemon.berth(["run", "-d", "--name", "bg", Self.image, "sh", "-c", "echo started; sleep 60"])
            #expect(detached.status == 0, "\(detached)")
            let listed = try daemon.berth(["ps"])
            #expect(listed.stdout.contains(" bg\n") && listed.stdout.contains("Up "), "\(listed)")
            usleep(300_000)
            #expect(try daemon.berth(["logs", "bg"]).stdout == "started\n")
            #expect(try daemon.berth(["rm", "bg"]).status == 1, "removing a running container needs -f")
            #expect(try daemon.berth(["rm", "-f", "bg"]).status == 0)
            #expect(try daemon.berth(["ps", "-a", "-q"]).stdout.isEmpty)
        }
    }
}

extension ContainerLifecycleTests {
    @Test func imagesInUseAreKept() async throws {
        try await Self.withImages { daemon in
            #expect(try Self.docker(daemon, ["create", "--name", "user", Self.image, "true"]).status == 0)
            let refused = try Self.docker(daemon, ["rmi", Self.image])
            #expect(refused.status != 0 && refused.stderr.contains("must force"), "\(refused)")
            let forced = try Self.docker(daemon, ["rmi", "-f", Self.image])
            #expect(forced.status == 0 && forced.stdout.contains("Untagged") && !forced.stdout.contains("Deleted"), "\(forced)")
            let run = try Self.docker(daemon, ["start", "-a", "user"])
            #expect(run.status == 0, "the container's image went with its name: \(run)")
        }
    }
}

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
            #expect(missing.status == 127 && missing.stdout.contains("executable file not found"), "\(missing)")
            #expect(try Self.docker(daemon, ["exec", "-d", "box", "sh", "-c", "echo later > /tmp/mark"]).status == 0)
            usleep(300_000)
            #expect(try Self.docker(daemon, ["exec", "box", "cat", "/tmp/mark"]).stdout == "later\n")
            let terminal = try Self.throughTerminal(##"[{"expect":"# "},{"send":"tty; exit 3\r"}]"##,
                                                    ["docker", "-H", daemon.host, "exec", "-it", "box", "sh"])
            #expect(terminal.status == 3 && terminal.stdout.contains("/dev/pts/"), "\(terminal)")
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

extension ContainerLifecycleTests {
    @Test func commitCopyAndInspectTheFilesystem() async throws {
        try await Self.withImages { daemon in
            let scratch = daemon.scratch + "/copies"
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "work", Self.image, "sh", "-c",
                                             "mkdir -p /data/sub && echo one > /data/a && echo two > /data/sub/b && "
                                                 + "ln -s / /escape && rm /bin/vi && sleep 300"]).status == 0)
            usleep(500_000)
            // Out of the container, whole directories, and a path through a symlink stays inside it.
            #expect(try Self.docker(daemon, ["cp", "work:/data", scratch + "/"]).status == 0)
            #expect(try String(contentsOfFile: scratch + "/data/sub/b", encoding: .utf8) == "two\n")
            #expect(try Self.docker(daemon, ["cp", "work:/escape/etc/hostname", scratch + "/hostname"]).status == 0)
            let containerHostname = try Self.docker(daemon, ["exec", "work", "hostname"]).stdout
            #expect(try String(contentsOfFile: scratch + "/hostname", encoding: .utf8) == containerHostname)
            // Into the container.
            try "from the host\n".write(toFile: scratch + "/in.txt", atomically: true, encoding: .utf8)
            #expect(try Self.docker(daemon, ["cp", scratch + "/in.txt", "work:/data/"]).status == 0)
            #expect(try Self.docker(daemon, ["exec", "work", "cat", "/data/in.txt"]).stdout == "from the host\n")
            let sizes = try Self.docker(daemon, ["ps", "-s", "--format", "{{.Size}}"]).stdout
            #expect(sizes.contains("B (virtual ") && !sizes.hasPrefix("0B"), "\(sizes)")
            let diff = try Self.docker(daemon, ["diff", "work"]).stdout
            #expect(diff.contains("A /data/a\n") && diff.contains("D /bin/vi\n"), "\(diff)")
            // Paused while committing, running after; the new image runs with the changed command and files.
            let commit = try Self.docker(daemon, ["commit", "-c", "CMD [\"cat\", \"/data/a\"]", "-c", "ENV MARK=set", "work",
                                                  "localhost/committed:1"])
            #expect(commit.status == 0 && commit.stdout.hasPrefix("sha256:"), "\(commit)")
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}}", "work"]).stdout == "running\n")
            #expect(try Self.docker(daemon, ["run", "--rm", "localhost/committed:1"]).stdout == "one\n")
            let changed = try Self.docker(daemon, ["run", "--rm", "localhost/committed:1", "sh", "-c",
                                                   "echo $MARK; cat /data/in.txt; test -e /bin/vi || echo vi-gone"])
            #expect(changed.stdout == "set\nfrom the host\nvi-gone\n", "\(changed)")
            // A stopped container's files are reachable too, and nothing stays mounted after.
            #expect(try Self.docker(daemon, ["stop", "-t", "0", "work"]).status == 0)
            #expect(try Self.docker(daemon, ["cp", "work:/data/a", scratch + "/a-stopped"]).status == 0)
            #expect(try String(contentsOfFile: scratch + "/a-stopped", encoding: .utf8) == "one\n")
            let export = try Command.run(["sh", "-c", "docker -H \(daemon.host) export work | tar -t | grep -c '^data/'"])
            #expect(Int(export.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 4, "\(export)")
            let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(!mounts.contains(daemon.root))
        }
    }

    @Test func pauseRenameTopStatsAndPrune() async throws {
        try await Self.withImages { daemon in
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "first", "-m", "32m", "--pids-limit", "50", Self.image,
                                             "sleep", "300"]).status == 0)
            #expect(try Self.docker(daemon, ["info", "--format", "{{.DefaultRuntime}} {{.LiveRestoreEnabled}} {{.SecurityOptions}}"])
                .stdout == "berth true [name=seccomp,profile=builtin]\n")
            let counted = "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}"
            #expect(try Self.docker(daemon, ["info", "--format", counted]).stdout == "1 1 0 0\n")
            #expect(try Self.docker(daemon, ["pause", "first"]).status == 0)
            #expect(try Self.docker(daemon, ["info", "--format", counted]).stdout == "1 0 1 0\n")
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "first"]).stdout == "paused true\n")
            #expect(try Self.docker(daemon, ["unpause", "first"]).status == 0)
            #expect(try Self.docker(daemon, ["rename", "first", "second"]).status == 0)
            let top = try Self.docker(daemon, ["top", "second"])
            #expect(top.stdout.contains("sleep 300"), "\(top)")
            let stats = try Self.docker(daemon, ["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "second"])
            #expect(stats.stdout.hasPrefix("second ") && stats.stdout.contains("/ 32MiB") && stats.stdout.hasSuffix(" 1\n"), "\(stats)")
            #expect(try Self.docker(daemon, ["run", "--name", "done", Self.image, "true"]).status == 0)
            let prune = try Self.docker(daemon, ["container", "prune", "-f"])
            #expect(prune.stdout.contains("Deleted Containers"), "\(prune)")
            #expect(try Self.docker(daemon, ["ps", "-a", "--format", "{{.Names}}"]).stdout == "second\n")
            #expect(try Self.docker(daemon, ["rm", "-f", "second"]).status == 0)
        }
    }
}

extension ContainerLifecycleTests {
    @Test func berthCLIManagesRunningContainers() async throws {
        try await Self.withImages { daemon in
            #expect(try daemon.berth(["run", "-d", "--name", "svc", Self.image, "sleep", "300"]).status == 0)
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
            let stats = try daemon.berth(["stats", "svc"])
            #expect(stats.stdout.contains("svc") && stats.stdout.contains("MEM USAGE"), "\(stats)")
            #expect(try daemon.berth(["pause", "svc"]).status == 0)
            #expect(try daemon.berth(["ps"]).stdout.contains("(Paused)"))
            #expect(try daemon.berth(["unpause", "svc"]).status == 0)
            #expect(try daemon.berth(["rename", "svc", "service"]).status == 0)
            // The terminal's size reaches the container's tty.
            let sized = try Self.throughTerminal(##"[{"expect":"24 80"}]"##,
                                                 [TestPaths.berth, "-H", daemon.host, "exec", "-it", "service", "sh", "-c", "sleep 0.5; stty size"])
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

extension ContainerLifecycleTests {
    @Test func logsRotateAndFilter() async throws {
        try await Self.withImages { daemon in
            // 400 lines of ~100 bytes into files of at most 8 KiB, three kept.
            let run = try Self.docker(daemon, ["run", "--name", "chatty", "--log-opt", "max-size=8k", "--log-opt", "max-file=3",
                                               Self.image, "sh", "-c",
                                               "i=0; while [ $i -lt 400 ]; do printf 'line %03d %080d\\n' $i 0; i=$((i+1)); done"])
            #expect(run.status == 0)
            let directory = try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/containers").first ?? ""
            let logs = try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/containers/" + directory)
                .filter { $0.contains("-json.log") }
            #expect(logs.count == 3, "\(logs)")
            for log in logs {
                let size = try FileManager.default.attributesOfItem(atPath: daemon.root + "/containers/\(directory)/\(log)")[.size] as? Int ?? 0
                #expect(size <= 8 * 1024, "\(log) is \(size) bytes")
            }
            let kept = try Self.docker(daemon, ["logs", "chatty"]).stdout.split(separator: "\n")
            #expect(kept.last?.hasPrefix("line 399 ") == true && kept.count < 400 && kept.count > 100, "\(kept.count) lines")
            let tail = try Self.docker(daemon, ["logs", "--tail", "2", "chatty"]).stdout.split(separator: "\n")
            #expect(tail.map { $0.prefix(8) } == ["line 398", "line 399"])
            let stamped = try Self.docker(daemon, ["logs", "-t", "--tail", "1", "chatty"]).stdout
            #expect(stamped.hasPrefix("20") && stamped.contains("Z line 399"), "\(stamped)")
            let future = try Self.docker(daemon, ["logs", "--since", "2099-01-01T00:00:00Z", "chatty"])
            #expect(future.status == 0 && future.stdout.isEmpty, "\(future)")
        }
    }
}
