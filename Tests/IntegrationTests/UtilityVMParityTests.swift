import Foundation
import Testing

/// The same commands against a native container and containers in x86_64, arm64 and arm/v7 utility
/// VMs, with the same expected results where the platform does not differ: the isolation mode is a
/// flag, not a different product.
@Suite(.serialized)
struct UtilityVMParityTests {
    /// Where a container runs, and the `run` flags that put it there.
    struct Placement: CustomStringConvertible, Sendable {
        let name: String
        let flags: [String]
        var description: String { name }
    }

    static let image = ContainerLifecycleTests.multiArchImage
    static let placements = [
        Placement(name: "native", flags: []),
        Placement(name: "x86_64-vm", flags: ["--isolation=vm"]),
        Placement(name: "arm64-vm", flags: ["--platform", "linux/arm64"]),
        Placement(name: "arm-vm", flags: ["--platform", "linux/arm/v7"]),
    ]

    static func docker(_ daemon: DaemonFixture, _ arguments: [String], timeout: TimeInterval = 120) throws -> Command.Result {
        try ContainerLifecycleTests.docker(daemon, arguments, timeout: timeout)
    }

    /// What a container's process holds: its capability sets, no_new_privs and seccomp mode.
    static let confinementLines = #"grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status"#

    /// Inside the guest the container has its own pid, mount, UTS and IPC namespaces and cgroup,
    /// Docker's capabilities, the same seccomp policy and hidden /proc paths as natively.
    @Test func confinementInsideTheGuestMatchesANativeContainer() async throws {
        _ = try ContainerLifecycleTests.guestKernel()
        try ContainerLifecycleTests.armGuests()
        try await ContainerLifecycleTests.withImages { daemon in
            var seen: [String: [String: String]] = [:]
            for placement in Self.placements {
                let name = "parity-" + placement.name
                let started = try Self.docker(daemon, ["run", "-d", "--name", name, "--hostname", "parity"] + placement.flags
                                                  + [Self.image, "sleep", "300"])
                #expect(started.status == 0, "\(placement): \(started)")
                defer { _ = try? Self.docker(daemon, ["rm", "-f", name]) }
                func exec(_ script: String, _ options: [String] = []) throws -> Command.Result {
                    try Self.docker(daemon, ["exec"] + options + [name, "sh", "-c", script])
                }
                var results: [String: String] = [:]
                // Its own processes only, the command as PID 1.
                let processes = try Self.docker(daemon, ["exec", name, "ps", "-o", "pid,comm"]).stdout.split(separator: "\n").dropFirst()
                    .map { $0.split(separator: " ").map(String.init) }
                #expect(processes.first == ["1", "sleep"] && processes.count == 2 && processes.last?.last == "ps", "\(placement): \(processes)")
                results["exec confinement"] = try exec(Self.confinementLines).stdout
                results["init confinement"] = try exec(Self.confinementLines.replacingOccurrences(of: "self", with: "1")).stdout
                results["hostname"] = try exec("hostname").stdout
                results["devices"] = try exec("ls /dev | tr '\\n' ' '").stdout
                results["masked"] = try exec("wc -c < /proc/timer_list").stdout
                results["sysrq"] = String(try exec("echo h > /proc/sysrq-trigger").status)
                results["mount"] = String(try exec("mkdir -p /m && mount -t tmpfs t /m").status)
                results["unshare"] = String(try exec("unshare -U true").status)
                results["terminal"] = try Self.docker(daemon, ["exec", "-t", name, "tty"]).stdout.hasPrefix("/dev/pts/") ? "pts" : "none"
                results["nobody"] = try exec("grep -E '^(CapEff|CapPrm)' /proc/self/status; id -u", ["-u", "nobody"]).stdout
                #expect(results["exec confinement"]?.contains("Seccomp:\t2") == true, "\(placement): \(results)")
                #expect(results["masked"]?.trimmingCharacters(in: .whitespaces) == "0\n", "\(placement): \(results)")
                // As natively: SIGTERM does not end a PID 1 without a handler, so stop kills it.
                #expect(try Self.docker(daemon, ["stop", "-t", "1", name]).status == 0)
                results["stopped"] = try Self.docker(daemon, ["inspect", "-f", "{{.State.ExitCode}}", name]).stdout
                // The init's terminal is one of its own devpts too.
                results["run terminal"] = try Self.docker(daemon, ["run", "--rm", "-t"] + placement.flags
                                                          + [Self.image, "sh", "-c", "tty; ls /dev/pts"]).stdout
                seen[placement.name] = results
            }
            let native = seen["native"] ?? [:]
            #expect(native["stopped"] == "137\n" && native["hostname"] == "parity\n" && native["run terminal"]?.hasPrefix("/dev/pts/0\r\n0") == true,
                    "\(native)")
            #expect(["sysrq", "mount", "unshare"].allSatisfy { native[$0] != "0" }, "refused natively: \(native)")
            for placement in Self.placements.dropFirst() {
                let results = seen[placement.name] ?? [:]
                for (check, expected) in native.sorted(by: { $0.key < $1.key }) {
                    #expect(results[check] == expected, "\(placement) \(check): \(results[check] ?? "nothing") vs native \(expected)")
                }
            }
        }
    }

    /// The command list of a container's life, the same in every placement: exec, `cp` both ways
    /// (owners, modes, symlinks, a missing path, a hostile archive), `export`, `top`, `stats`,
    /// `diff`, `commit` and a run of the committed image (on the same platform again),
    /// `pause`/`unpause`, limits, `--init`, a `--restart` policy, logs, restart and removal. Only
    /// pids and the kernel differ between a host and a guest.
    @Test func theSameCommandsWorkInEveryPlacement() async throws {
        _ = try ContainerLifecycleTests.guestKernel()
        try ContainerLifecycleTests.armGuests()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("parity-files-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch + "/payload/deeper", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try "alpha\n".write(toFile: scratch + "/payload/a.txt", atomically: false, encoding: .utf8)
        try Data(repeating: 0x5a, count: 300_000).write(to: URL(fileURLWithPath: scratch + "/payload/deeper/big.bin"))
        chmod(scratch + "/payload/a.txt", 0o640)
        chown(scratch + "/payload/a.txt", 1234, 5678)
        symlink("a.txt", scratch + "/payload/link")
        _ = try Command.run(["python3", "-c", """
            import io, tarfile
            with tarfile.open('\(scratch)/evil.tar', 'w') as archive:
                entry = tarfile.TarInfo('../../escaped'); entry.size = 4
                archive.addfile(entry, io.BytesIO(b'evil'))
            """])
        try await ContainerLifecycleTests.withImages { daemon in
            var seen: [String: [String: String]] = [:]
            for placement in Self.placements {
                let name = "commands-" + placement.name
                let started = try Self.docker(daemon, ["run", "-d", "--name", name] + placement.flags
                                                  + [Self.image, "sh", "-c", "echo hello-log; exec sleep 300"])
                #expect(started.status == 0, "\(placement): \(started)")
                defer { _ = try? Self.docker(daemon, ["rm", "-f", name]) }
                // The container's name and ID and the CLI's log times differ by placement, not by behaviour.
                func run(_ arguments: [String]) throws -> String {
                    let result = try Self.docker(daemon, arguments)
                    return "\(result.status) \(result.stdout)\(result.stderr)".replacingOccurrences(of: name, with: "NAME")
                        .replacingOccurrences(of: #"[0-9a-f]{64}"#, with: "ID", options: .regularExpression)
                        .replacingOccurrences(of: #"time="[^"]*""#, with: "time", options: .regularExpression)
                }
                var results: [String: String] = [:]
                results["exec"] = try run(["exec", name, "sh", "-c", "echo $((6 * 7))"])

                results["cp in"] = try run(["cp", scratch + "/payload", name + ":/tmp/"])
                results["cp in, seen inside"] = try run(["exec", name, "sh", "-c",
                    "cd /tmp/payload && find . | sort && stat -c '%n %a %u:%g %s' a.txt deeper/big.bin && readlink link && cat a.txt"])
                // The CLI refuses this itself; its tar writer may log a closed pipe on the way, or not.
                let refused = try Self.docker(daemon, ["cp", scratch + "/payload/a.txt", name + ":/no/such/dir/"])
                results["cp in, to a missing directory"] = "\(refused.status) "
                    + refused.stderr.split(separator: "\n").filter { !$0.contains("closed pipe") }.joined(separator: "\n")
                let out = scratch + "/out-" + placement.name
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                results["cp out"] = try run(["cp", name + ":/tmp/payload", out + "/"])
                results["cp out, seen here"] = try Command.run(["sh", "-c",
                    "cd \(out)/payload && find . | sort && stat -c '%n %a %s' a.txt deeper/big.bin && readlink link && cmp deeper/big.bin \(scratch)/payload/deeper/big.bin && echo same"]).stdout
                results["cp out, a missing path"] = try run(["cp", name + ":/no/such/file", out + "/"])
                results["cp out, a file to stdout"] = try Command.run(["sh", "-c",
                    "docker -H \(daemon.host) cp \(name):/tmp/payload/a.txt - | tar -xO"]).stdout
                // A hostile archive: refused, and nothing lands outside the target.
                results["cp in, an unsafe archive"] = try Command.run(["sh", "-c",
                    "curl -s -o /dev/null -w '%{http_code}' --unix-socket \(daemon.host.replacingOccurrences(of: "unix://", with: "")) "
                    + "-X PUT -T \(scratch)/evil.tar 'http://d/containers/\(name)/archive?path=/tmp/payload/deeper'"]).stdout
                results["cp in, an unsafe archive, seen inside"] = try run(["exec", name, "sh", "-c", "ls /tmp/payload; ls /tmp | grep -c escaped"])
                results["export"] = try Command.run(["sh", "-c",
                    "docker -H \(daemon.host) export \(name) | tar -t | grep -xE 'tmp/payload/(a.txt|link|deeper/big.bin)|bin/busybox' | sort"]).stdout

                let top = try Self.docker(daemon, ["top", name])
                let commands = top.stdout.split(separator: "\n").dropFirst().map { line in
                    line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).joined(separator: " ")
                }
                results["top"] = "\(top.status) \(top.stdout.split(separator: "\n").first ?? "") \(commands.sorted())"

                results["stats"] = try run(["stats", "--no-stream", "--format", "{{.PIDs}} {{if .MemUsage}}memory{{end}}", name])
                results["diff"] = try run(["diff", name])
                let committed = "committed-" + placement.name
                results["commit"] = try run(["commit", "-c", "CMD cat /tmp/payload/a.txt", name, committed])
                    .replacingOccurrences(of: #"sha256:[0-9a-f]{64}"#, with: "IMAGE", options: .regularExpression)
                results["commit, run"] = try run(["run", "--rm"] + placement.flags + [committed])
                results["commit, layers"] = try Command.run(["sh", "-c",
                    "docker -H \(daemon.host) history --format '{{.CreatedBy}}' \(committed) | head -n 1; docker -H \(daemon.host) rmi \(committed) >/dev/null"]).stdout

                // A ticker in the container's cgroup: still while paused, ticking again after.
                results["ticker"] = try run(["exec", "-d", name, "sh", "-c", "while true; do echo tick >> /tmp/ticks; usleep 100000; done"])
                func ticks() throws -> Int {
                    let counted = try Command.run(["sh", "-c", "docker -H \(daemon.host) cp \(name):/tmp/ticks - | tar -xO | wc -l"]).stdout
                    return Int(counted.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
                }
                try await Task.sleep(for: .seconds(1))
                results["pause"] = try run(["pause", name])
                let pausedTicks = try ticks()
                try await Task.sleep(for: .milliseconds(1500))
                let laterTicks = try ticks()
                results["ticks while paused"] = pausedTicks > 0 && laterTicks == pausedTicks ? "still" : "moved: \(pausedTicks) \(laterTicks)"
                results["paused state"] = try run(["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", name])
                results["exec while paused"] = try run(["exec", name, "true"])
                results["cp out while paused"] = try run(["cp", name + ":/tmp/payload/a.txt", out + "/paused.txt"])
                results["unpause"] = try run(["unpause", name])
                results["after unpause"] = try run(["exec", name, "echo", "awake"])
                try await Task.sleep(for: .milliseconds(1500))
                results["ticks after unpause"] = (try ticks()) > pausedTicks ? "ticking" : "still"

                // Limits hold inside a VM as on the host: the memory limit the container sees, and forks past its pids limit fail.
                // The sleepers are forked by a subshell: a shell whose fork fails gives up (status 2), and
                // the one that reports must keep a fork to spare.
                results["limits"] = try run(["run", "--rm", "-m", "64m", "--pids-limit", "8"] + placement.flags + [Self.image, "sh", "-c",
                    "(cat /sys/fs/cgroup/memory.max || cat /sys/fs/cgroup/memory/memory.limit_in_bytes) 2>/dev/null; "
                    + "(for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do sleep 3 & done) 2>/tmp/forks; "
                    + "grep -q \"can't fork\" /tmp/forks && echo some-forks-refused"])
                // The OOM killer in the container's cgroup: killed, and said so, as natively (a 100 MiB buffer
                // filled at once: a slowly growing one makes a guest under TCG thrash for minutes first).
                let hog = name + "-hog"
                _ = try run(["run", "--name", hog, "-m", "64m", "--memory-swap", "64m"] + placement.flags
                                + [Self.image, "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"])
                results["oom"] = try run(["inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", hog])
                _ = try Self.docker(daemon, ["rm", "-f", hog])
                // --init: PID 1 is the reaper, which passes a stop's SIGTERM on to the command.
                results["init"] = try run(["run", "--rm", "--init"] + placement.flags + [Self.image, "sh", "-c",
                    "grep ^Name /proc/1/status; test $$ != 1 && echo not-pid-1; (sleep 30 &); exit 6"])
                let sleeper = name + "-init"
                _ = try run(["run", "-d", "--init", "--name", sleeper] + placement.flags + [Self.image, "sleep", "300"])
                results["init, stopped"] = try run(["stop", "-t", "20", sleeper])
                    + (try run(["inspect", "-f", "{{.State.ExitCode}}", sleeper])).replacingOccurrences(of: sleeper, with: "NAME")
                _ = try Self.docker(daemon, ["rm", "-f", sleeper])
                // --restart on-failure:2: two restarts (in a VM, each boots it again), then it stays exited with the command's code.
                let failing = name + "-failing"
                _ = try run(["run", "-d", "--restart", "on-failure:2", "--name", failing] + placement.flags + [Self.image, "sh", "-c", "echo ran; exit 3"])
                var restarts = ""
                for _ in 0..<600 where restarts != "0 exited 2 3\n" {
                    try await Task.sleep(for: .milliseconds(200))
                    restarts = try run(["inspect", "-f", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}", failing])
                }
                results["restart policy"] = restarts + (try run(["logs", failing]))
                _ = try Self.docker(daemon, ["rm", "-f", failing])
                results["logs"] = try run(["logs", name])
                results["restart"] = try run(["restart", "-t", "1", name])
                results["after restart"] = try run(["exec", name, "sh", "-c", "test -e /tmp/payload/a.txt && echo kept"])
                results["logs after restart"] = try run(["logs", name])
                // A stopped container's files, read and written from outside it: in a helper VM for a VM container.
                results["stopped"] = try run(["stop", "-t", "1", name])
                results["stopped, cp out"] = try Command.run(["sh", "-c",
                    "docker -H \(daemon.host) cp \(name):/tmp/payload/a.txt - | tar -xO"]).stdout
                results["stopped, cp in"] = try run(["cp", scratch + "/payload/a.txt", name + ":/tmp/later.txt"])
                results["stopped, diff"] = try run(["diff", name])
                results["stopped, export"] = try Command.run(["sh", "-c",
                    "docker -H \(daemon.host) export \(name) | tar -xO tmp/later.txt"]).stdout
                let committedStopped = "committed-stopped-" + placement.name
                _ = try run(["commit", "-c", "CMD cat /tmp/later.txt", name, committedStopped])
                results["stopped, commit, run"] = try run(["run", "--rm"] + placement.flags + [committedStopped])
                _ = try Self.docker(daemon, ["rmi", committedStopped])
                results["stopped, started again"] = try run(["start", name]) + (try run(["exec", name, "cat", "/tmp/later.txt"]))
                // A container never started yet: its writable layer is made for the copy.
                let created = name + "-created"
                _ = try run(["create", "--name", created] + placement.flags
                                + [Self.image, "sh", "-c", "cat /copied/a.txt; echo last-word > /copied/last.txt"])
                results["created, cp in, start"] = try run(["cp", scratch + "/payload", created + ":/copied"])
                    + (try run(["start", "-a", created]))
                // Attached before its next start, as `docker start -a` of an exited container is.
                results["created, started again"] = try run(["start", "-a", created])
                // What the container wrote as it ended is on its disk: its VM powered off only once synced.
                results["created, its last write"] = try Command.run(["sh", "-c",
                    "docker -H \(daemon.host) cp \(created):/copied/last.txt - | tar -xO"]).stdout
                _ = try Self.docker(daemon, ["rm", "-f", created])
                results["rm"] = try run(["rm", "-f", name])
                results["gone"] = String(try Self.docker(daemon, ["inspect", name]).status)
                seen[placement.name] = results
            }
            let native = seen["native"] ?? [:]
            #expect(native["exec"] == "0 42\n" && native["cp out, seen here"]?.hasSuffix("same\n") == true
                    && native["top"]?.contains("sleep 300") == true && native["paused state"] == "0 paused true\n"
                    && native["after restart"] == "0 kept\n" && native["logs after restart"] == "0 hello-log\nhello-log\n"
                    && native["ticks while paused"] == "still" && native["ticks after unpause"] == "ticking"
                    && native["diff"]?.contains("A /tmp/payload/deeper/big.bin") == true && native["commit, run"] == "0 alpha\n"
                    && native["stats"] == "0 1 memory\n" && native["cp in, an unsafe archive"] == "400"
                    && native["limits"] == "0 67108864\nsome-forks-refused\n" && native["oom"] == "0 true 137\n"
                    && native["stopped, cp out"] == "alpha\n" && native["stopped, diff"]?.contains("A /tmp/later.txt") == true
                    && native["stopped, export"] == "alpha\n" && native["stopped, commit, run"] == "0 alpha\n"
                    && native["stopped, started again"] == "0 NAME\n0 alpha\n" && native["created, cp in, start"]?.hasSuffix("0 alpha\n") == true
                    && native["created, its last write"] == "last-word\n" && native["created, started again"] == "0 alpha\n"
                    && native["init"] == "6 Name:\tinit\nnot-pid-1\n" && native["init, stopped"]?.hasSuffix("0 143\n") == true
                    && native["restart policy"] == "0 exited 2 3\n0 ran\nran\nran\n"
                    && native["export"] == "bin/busybox\ntmp/payload/a.txt\ntmp/payload/deeper/big.bin\ntmp/payload/link\n",
                    "\(native)")
            for placement in Self.placements.dropFirst() {
                let results = seen[placement.name] ?? [:]
                for (check, expected) in native.sorted(by: { $0.key < $1.key }) {
                    #expect(results[check] == expected, "\(placement) \(check): \(results[check] ?? "nothing") vs native \(expected)")
                }
            }
        }
    }
}
