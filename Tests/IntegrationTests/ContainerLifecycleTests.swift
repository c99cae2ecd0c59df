import Foundation
import Testing

/// Native containers through the real docker CLI, docker-py and the berth CLI.
@Suite(.serialized) struct ContainerLifecycleTests {
    static let image = "berth-test/busybox:amd64"

    /// A daemon with the test busybox images loaded.
    static func withImages<T>(daemonOptions: [String] = [], _ body: (DaemonFixture) async throws -> T) async throws -> T {
        let built = try TestImageTests.build(into: nil)
        return try await DaemonFixture.with(options: daemonOptions) { daemon in
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
            // Starts side by side still get addresses of their own.
            let addresses = try Self.docker(daemon, ["inspect", "-f", "{{.NetworkSettings.IPAddress}}"] + ids).stdout
                .split(separator: "\n").map(String.init)
            #expect(addresses.count == 50 && Set(addresses).count == 50 && !addresses.contains(""), "\(addresses.sorted())")
            #expect(try Self.docker(daemon, ["rm", "-f"] + ids, timeout: 300).status == 0)
            let mountInfo = TestPaths.mountInfo()
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
            #expect(try daemon.berth(["logs", "--until", "1000", "bg"]).stdout.isEmpty)
            #expect(try daemon.berth(["rm", "bg"]).status == 1, "removing a running container needs -f")
            #expect(try daemon.berth(["rm", "-f", "bg"]).status == 0)
            #expect(try daemon.berth(["ps", "-a", "-q"]).stdout.isEmpty)
        }
    }
}
