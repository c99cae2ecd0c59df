import CRIClient
import CRIProtocol
import Foundation
import GRPCCore
import NIOCore
import Synchronization
import Testing

/// Exec, Attach and PortForward as kubectl uses them: the call answers a URL on berthd's streaming
/// server, and the client speaks SPDY to it.
extension CRIPodTests {
    @Test func execAttachAndPortForwardThroughTheStreamingServer() async throws {
        try await Self.withPod { daemon, cri, image in
            let config = Self.podConfig(daemon, name: "streams")
            let podID = try await cri.runtime.runPodSandbox(.with { $0.config = config }).podSandboxID
            let serve = "mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"
            var server = Self.containerConfig("server", image: image, ["sh", "-c", serve])
            server.stdin = false
            var reader = Self.containerConfig("reader", image: image, ["sh", "-c", "read line; echo attached:$line; echo bye >&2"])
            reader.stdin = true
            reader.stdinOnce = true
            var ids: [String] = []
            for container in [server, reader] {
                let id = try await cri.runtime.createContainer(.with {
                    $0.podSandboxID = podID; $0.config = container; $0.sandboxConfig = config
                }).containerID
                _ = try await cri.runtime.startContainer(.with { $0.containerID = id })
                ids.append(id)
            }
            let (serverID, readerID) = (ids[0], ids[1])

            // Exec: input in, both outputs apart, and the exit code from the error stream.
            let execURL = try await cri.runtime.exec(.with {
                $0.containerID = serverID; $0.cmd = ["sh", "-c", "read line; echo got:$line; echo oops >&2; exit 3"]
                $0.stdin = true; $0.stdout = true; $0.stderr = true
            }).url
            #expect(execURL.hasPrefix("http://127.0.0.1:"), "\(execURL)")
            let output = CollectedOutput()
            let code = try await RemoteCommandClient(stdin: Self.lines("hello")).run(execURL) { await output.append($0, $1) }
            #expect(code == 3)
            #expect(output.text(.stdout) == "got:hello\n" && output.text(.stderr) == "oops\n", "\(output.text(.stdout)) \(output.text(.stderr))")
            // A URL is good once.
            await #expect(throws: StreamingClientError.self) { _ = try await RemoteCommandClient().run(execURL) { _, _ in } }

            // A terminal: one output stream, and the size the client sends is the terminal's.
            let ttyURL = try await cri.runtime.exec(.with {
                $0.containerID = serverID; $0.tty = true; $0.stdout = true
                $0.cmd = ["sh", "-c", #"for i in $(seq 50); do s=$(stty size 2>/dev/null); [ "$s" = "40 100" ] && break; sleep 0.1; done; echo "size $s"; exit 0"#]
            }).url
            let (sizes, sizesOut) = AsyncStream<(columns: Int, rows: Int)>.makeStream()
            sizesOut.yield((columns: 100, rows: 40))
            let terminal = CollectedOutput()
            let ttyCode = try await RemoteCommandClient(tty: true, terminalSizes: sizes).run(ttyURL) { await terminal.append($0, $1) }
            sizesOut.finish()
            #expect(ttyCode == 0 && terminal.text(.stdout) == "size 40 100\r\n", "\(terminal.text(.stdout))")

            // Attach: the container's own process reads the client's input and ends.
            let attachURL = try await cri.runtime.attach(.with {
                $0.containerID = readerID; $0.stdin = true; $0.stdout = true; $0.stderr = true
            }).url
            let attached = CollectedOutput()
            let attachCode = try await RemoteCommandClient(stdin: Self.lines("ping")).run(attachURL) { await attached.append($0, $1) }
            #expect(attachCode == 0 && attached.text(.stdout) == "attached:ping\n" && attached.text(.stderr) == "bye\n",
                    "\(attached.text(.stdout)) \(attached.text(.stderr))")

            // Port forwarding reaches the pod's loopback, where nothing outside the pod can.
            let forwardURL = try await cri.runtime.portForward(.with { $0.podSandboxID = podID; $0.port = [8080] }).url
            let forwarder = try await PortForwardClient.connect(forwardURL)
            let reply = try await forwarder.exchange(port: 8080, request: ByteBuffer(string: "GET /index.html HTTP/1.0\r\n\r\n"))
            #expect(String(buffer: reply).hasPrefix("HTTP/1.") && String(buffer: reply).hasSuffix("hello-from-pod\n"), "\(String(buffer: reply))")
            // A second connection on the same session, to a port nobody listens on: the error stream says so.
            await #expect {
                _ = try await forwarder.exchange(port: 8081, request: ByteBuffer(string: "x"))
            } throws: { error in
                "\(error)".lowercased().contains("connection refused")
            }
            await forwarder.close()

            // What the server refuses before a URL exists.
            await CRIImageTests.expectRefusal(.invalidArgument) {
                try await cri.runtime.exec(.with { $0.containerID = serverID; $0.cmd = ["true"] })
            }
            await CRIImageTests.expectRefusal(.invalidArgument) {
                try await cri.runtime.exec(.with { $0.containerID = serverID; $0.cmd = ["true"]; $0.tty = true; $0.stdout = true; $0.stderr = true })
            }
            await CRIImageTests.expectRefusal(.notFound) {
                try await cri.runtime.exec(.with { $0.containerID = "0123456789ab"; $0.cmd = ["true"]; $0.stdout = true })
            }
            _ = try await cri.runtime.stopPodSandbox(.with { $0.podSandboxID = podID })
            await CRIImageTests.expectRefusal(.failedPrecondition) {
                try await cri.runtime.portForward(.with { $0.podSandboxID = podID })
            }
            _ = try await cri.runtime.removePodSandbox(.with { $0.podSandboxID = podID })
        }
    }

    /// `text` and a newline as a client's standard input, then its end.
    static func lines(_ text: String) -> AsyncStream<ByteBuffer> {
        let (stream, input) = AsyncStream<ByteBuffer>.makeStream()
        input.yield(ByteBuffer(string: text + "\n"))
        input.finish()
        return stream
    }
}

/// Output as a streaming client receives it, by stream.
final class CollectedOutput: Sendable {
    private let collected = Mutex<[RemoteCommandClient.Output: String]>([:])

    func append(_ stream: RemoteCommandClient.Output, _ bytes: ByteBuffer) async {
        collected.withLock { $0[stream, default: ""] += String(buffer: bytes) }
    }

    func text(_ stream: RemoteCommandClient.Output) -> String {
        collected.withLock { $0[stream] ?? "" }
    }
}

/// `berth cri`, as crictl is used on a node: a pod from its JSON config, a container in it, a
/// command run in it through the streaming server, its log, and its removal.
extension CRIPodTests {
    @Test func theCRICommandsRunAPodLikeCrictl() async throws {
        try await Self.withPod { daemon, _, image in
            let socket = CRIImageTests.criSocket(daemon)
            func cri(_ arguments: [String], input: Data? = nil) throws -> Command.Result {
                let result = try Command.run([TestPaths.berth, "-H", daemon.host, "cri", "-r", "unix://" + socket] + arguments, input: input)
                return result
            }
            let podFile = daemon.scratch + "/pod.json", containerFile = daemon.scratch + "/container.json"
            try #"{"metadata":{"name":"cli","namespace":"default","uid":"uid-cli","attempt":1},"hostname":"cli-pod","log_directory":"\#(daemon.scratch)/cli-logs"}"#
                .write(toFile: podFile, atomically: true, encoding: .utf8)
            try #"{"metadata":{"name":"talker"},"image":{"image":"\#(image)"},"command":["sh","-c","echo said-out; echo said-err >&2; exec sleep 300"],"log_path":"talker.log"}"#
                .write(toFile: containerFile, atomically: true, encoding: .utf8)

            let runp = try cri(["runp", podFile])
            #expect(runp.status == 0, "\(runp.stderr)")
            let podID = runp.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let create = try cri(["create", podID, containerFile, podFile])
            #expect(create.status == 0, "\(create.stderr)")
            let containerID = create.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try cri(["start", containerID]).stdout == containerID + "\n")

            let pods = try cri(["pods"])
            #expect(pods.stdout.range(of: #"\#(podID.prefix(13))\s+.*ago\s+Ready\s+cli\s+default\s+1\s+runc"#, options: .regularExpression) != nil,
                    "\(pods.stdout)")
            let ps = try cri(["ps", "--pod", podID])
            #expect(ps.stdout.range(of: #"\#(containerID.prefix(13))\s+\S+\s+.*ago\s+Running\s+talker\s+0\s+\#(podID.prefix(13))\s+cli"#,
                                     options: .regularExpression) != nil, "\(ps.stdout)")

            // exec through the streaming server: input, both outputs, and the exit code as berth's own.
            let exec = try cri(["exec", "-i", containerID, "sh", "-c", "read word; echo heard:$word; echo to-err >&2; exit 5"], input: Data("hi\n".utf8))
            #expect(exec.status == 5 && exec.stdout == "heard:hi\n" && exec.stderr == "to-err\n", "\(exec.status) \(exec.stdout) \(exec.stderr)")
            let sync = try cri(["exec", "--sync", containerID, "hostname"])
            #expect(sync.status == 0 && sync.stdout == "cli-pod\n", "\(sync.stdout)\(sync.stderr)")

            let logs = try cri(["logs", containerID])
            #expect(logs.stdout == "said-out\n" && logs.stderr == "said-err\n", "\(logs.stdout)|\(logs.stderr)")

            let running = try cri(["rmp", podID])
            #expect(running.status == 1 && running.stderr.contains("is running"), "\(running.stderr)")
            #expect(try cri(["rmp", "-f", podID]).stdout == "Removed sandbox \(podID)\n")
            #expect(try cri(["pods", "-q"]).stdout.isEmpty)
            #expect(try cri(["ps", "-a", "-q"]).stdout.isEmpty)
        }
    }
}

/// What a pod's security settings reach: its sysctls (the sandbox's IPC namespace, which its
/// containers share), and a container's own masked and read-only paths instead of the defaults.
extension CRIPodTests {
    @Test func podSysctlsAndAContainersMaskedAndReadOnlyPaths() async throws {
        try await Self.withPod { daemon, cri, image in
            var config = Self.podConfig(daemon, name: "tuned")
            // Sysctls alone, with none of the pod's other settings (the bare pod critest makes).
            config.clearDnsConfig()
            config.linux.sysctls = ["kernel.shm_rmid_forced": "1", "fs.mqueue.msg_max": "100"]
            let podID = try await cri.runtime.runPodSandbox(.with { $0.config = config }).podSandboxID
            var container = Self.containerConfig("guarded", image: image, ["sleep", "300"])
            container.linux.securityContext.maskedPaths = ["/proc/cmdline"]
            container.linux.securityContext.readonlyPaths = ["/tmp"]
            let id = try await cri.runtime.createContainer(.with { $0.podSandboxID = podID; $0.config = container; $0.sandboxConfig = config }).containerID
            _ = try await cri.runtime.startContainer(.with { $0.containerID = id })

            let sysctls = try await Self.exec(cri, id, ["cat", "/proc/sys/kernel/shm_rmid_forced", "/proc/sys/fs/mqueue/msg_max"])
            #expect(Self.text(sysctls.stdout) == "1\n100\n", "\(Self.text(sysctls.stdout))\(Self.text(sysctls.stderr))")
            let masked = try await Self.exec(cri, id, ["cat", "/proc/cmdline"])
            #expect(masked.exitCode == 0 && masked.stdout.isEmpty, "\(Self.text(masked.stdout))")
            let readOnly = try await Self.exec(cri, id, ["touch", "/tmp/written"])
            #expect(readOnly.exitCode != 0 && Self.text(readOnly.stderr).contains("Read-only"), "\(Self.text(readOnly.stderr))")
            // The defaults it replaced are not applied: /proc/kcore is the kernel's, not /dev/null over it.
            let unmasked = try await Self.exec(cri, id, ["sh", "-c", "test -c /proc/kcore && echo masked || echo kernel"])
            #expect(Self.text(unmasked.stdout) == "kernel\n", "\(Self.text(unmasked.stdout))")

            // A localhost seccomp profile, by kubelet's older path field: chmod is refused in that container only.
            let profile = daemon.scratch + "/no-chmod.json"
            try #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO"}]}"#
                .write(toFile: profile, atomically: true, encoding: .utf8)
            var confined = Self.containerConfig("confined", image: image, ["sleep", "300"])
            confined.linux.securityContext.seccompProfilePath = "localhost" + profile
            let confinedID = try await cri.runtime.createContainer(.with { $0.podSandboxID = podID; $0.config = confined; $0.sandboxConfig = config }).containerID
            _ = try await cri.runtime.startContainer(.with { $0.containerID = confinedID })
            let chmod = ["sh", "-c", "touch /f && chmod 600 /f && echo changed"]
            let refusedChmod = try await Self.exec(cri, confinedID, chmod)
            #expect(refusedChmod.exitCode != 0 && Self.text(refusedChmod.stderr).contains("Operation not permitted"), "\(Self.text(refusedChmod.stderr))")
            #expect(Self.text(try await Self.exec(cri, id, chmod).stdout) == "changed\n")
            // No profile named is unconfined in the CRI (kubelet names the runtime's default when it wants it).
            let status = ["sh", "-c", "grep '^Seccomp:' /proc/self/status"]
            #expect(Self.text(try await Self.exec(cri, id, status).stdout) == "Seccomp:\t0\n")
            #expect(Self.text(try await Self.exec(cri, confinedID, status).stdout) == "Seccomp:\t2\n")
            confined.linux.securityContext.seccompProfilePath = "localhost/no/such/profile.json"
            confined.metadata.name = "unloadable"
            await CRIImageTests.expectRefusal(.invalidArgument) {
                try await cri.runtime.createContainer(.with { $0.podSandboxID = podID; $0.config = confined; $0.sandboxConfig = config })
            }

            // A mount with HOST_TO_CONTAINER propagation sees what the host mounts under its shared source later.
            let source = daemon.scratch + "/propagated"
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            #expect(try Command.run(["mount", "--bind", source, source]).status == 0)
            defer { _ = try? Command.run(["umount", "-R", "-l", source]) }
            #expect(try Command.run(["mount", "--make-shared", source]).status == 0)
            var watcher = Self.containerConfig("watcher", image: image, ["sleep", "300"])
            watcher.mounts = [.with { $0.hostPath = source; $0.containerPath = "/watched"; $0.propagation = .propagationHostToContainer }]
            let watcherID = try await cri.runtime.createContainer(.with { $0.podSandboxID = podID; $0.config = watcher; $0.sandboxConfig = config }).containerID
            _ = try await cri.runtime.startContainer(.with { $0.containerID = watcherID })
            try FileManager.default.createDirectory(atPath: source + "/later", withIntermediateDirectories: true)
            #expect(try Command.run(["mount", "-t", "tmpfs", "tmpfs", source + "/later"]).status == 0)
            try "later\n".write(toFile: source + "/later/file", atomically: true, encoding: .utf8)
            let seen = try await Self.exec(cri, watcherID, ["cat", "/watched/later/file"])
            #expect(Self.text(seen.stdout) == "later\n", "\(Self.text(seen.stderr))")
            let watcherMounts = try await cri.runtime.containerStatus(.with { $0.containerID = watcherID }).status.mounts
            #expect(watcherMounts.map(\.propagation) == [.propagationHostToContainer] && watcherMounts.first?.hostPath == source)

            _ = try await cri.runtime.stopPodSandbox(.with { $0.podSandboxID = podID })
            _ = try await cri.runtime.removePodSandbox(.with { $0.podSandboxID = podID })
        }
    }
}
