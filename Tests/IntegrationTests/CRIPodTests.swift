import APIModels
import CRIClient
import CRIProtocol
import Foundation
import GRPCCore
import Testing

/// Pods through berthd's CRI socket, as kubelet drives them: a sandbox that holds the pod's
/// namespaces, containers that share them, commands run in them, their logs, and their end.
@Suite(.serialized) struct CRIPodTests {
    static let image = "berth-test/busybox:latest"

    /// A registry with the test images, a daemon, and the busybox image pulled through the CRI.
    static func withPod<T>(_ body: (DaemonFixture, CRIConnection, String) async throws -> T) async throws -> T {
        try await ImagePullTests.withPushedImage { registry, daemon, _ in
            try await CRIConnection.with(socket: CRIImageTests.criSocket(daemon)) { cri in
                let name = "\(registry.address)/\(Self.image)"
                _ = try await cri.images.pullImage(.with { $0.image.image = name })
                return try await body(daemon, cri, name)
            }
        }
    }

    static func podConfig(_ daemon: DaemonFixture, name: String = "web") -> Runtime_V1_PodSandboxConfig {
        .with {
            $0.metadata = .with { $0.name = name; $0.namespace = "default"; $0.uid = "uid-\(name)"; $0.attempt = 0 }
            $0.hostname = "\(name)-pod"
            $0.logDirectory = daemon.scratch + "/pods/\(name)"
            $0.labels = ["app": name]
            $0.annotations = ["example.test/owner": "tests"]
            $0.dnsConfig = .with { $0.servers = ["10.9.8.7"]; $0.searches = ["svc.example.test"] }
        }
    }

    static func containerConfig(_ name: String, image: String, _ command: [String]) -> Runtime_V1_ContainerConfig {
        .with {
            $0.metadata = .with { $0.name = name }
            $0.image = .with { $0.image = image }
            $0.command = command
            $0.logPath = "\(name)/0.log"
            $0.labels = ["io.kubernetes.container.name": name]
        }
    }

    static func exec(_ cri: CRIConnection, _ id: String, _ command: [String], timeout: Int64 = 0) async throws -> Runtime_V1_ExecSyncResponse {
        try await cri.runtime.execSync(.with { $0.containerID = id; $0.cmd = command; $0.timeout = timeout })
    }

    static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    @Test func aPodsContainersShareItsNetworkHostnameAndProcessesAndEndWithIt() async throws {
        try await Self.withPod { daemon, cri, image in
            let config = Self.podConfig(daemon)
            let podID = try await cri.runtime.runPodSandbox(.with { $0.config = config }).podSandboxID
            let status = try await cri.runtime.podSandboxStatus(.with { $0.podSandboxID = podID }).status
            #expect(status.state == .sandboxReady)
            #expect(status.metadata.name == "web" && status.metadata.uid == "uid-web")
            #expect(status.labels == ["app": "web"] && status.annotations == ["example.test/owner": "tests"])
            #expect(status.runtimeHandler == "runc")
            #expect(status.network.ip.hasPrefix(String(daemon.bridgeAddress.split(separator: ".").prefix(3).joined(separator: "."))), "\(status.network.ip)")

            let serve = "mkdir -p /www && echo hello-from-server > /www/index.html && echo serving && exec httpd -f -p 127.0.0.1:8080 -h /www"
            let serverConfig = Self.containerConfig("server", image: image, ["sh", "-c", serve])
            let clientConfig = Self.containerConfig("client", image: image, ["sh", "-c", "while true; do echo tick; sleep 0.2; done"])
            var ids: [String] = []
            for container in [serverConfig, clientConfig] {
                let id = try await cri.runtime.createContainer(.with {
                    $0.podSandboxID = podID; $0.config = container; $0.sandboxConfig = config
                }).containerID
                _ = try await cri.runtime.startContainer(.with { $0.containerID = id })
                ids.append(id)
            }
            let (server, client) = (ids[0], ids[1])
            try await Task.sleep(for: .milliseconds(500))

            // One network namespace: the server listens on the pod's loopback, the client reaches it there.
            let fetched = try await Self.exec(cri, client, ["wget", "-qO-", "http://127.0.0.1:8080/"])
            #expect(Self.text(fetched.stdout) == "hello-from-server\n" && fetched.exitCode == 0, "\(Self.text(fetched.stderr))")
            // The pod's hostname, its DNS settings, and its processes: httpd is seen from the client.
            let shared = try await Self.exec(cri, client, ["sh", "-c", "hostname; cat /etc/resolv.conf; ps -o comm | grep -x httpd"])
            #expect(Self.text(shared.stdout) == "web-pod\nnameserver 10.9.8.7\nsearch svc.example.test\nhttpd\n", "\(Self.text(shared.stdout))")
            let split = try await Self.exec(cri, client, ["sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(Self.text(split.stdout) == "out\n" && Self.text(split.stderr) == "err\n" && split.exitCode == 3)
            await CRIImageTests.expectRefusal(.deadlineExceeded) { try await Self.exec(cri, client, ["sleep", "30"], timeout: 1) }

            // Logs in the CRI's format where kubelet said, which `berth logs` reads too.
            let serverLog = config.logDirectory + "/server/0.log"
            let logged = try String(contentsOfFile: serverLog, encoding: .utf8)
            #expect(logged.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F serving\n$"#, options: .regularExpression) != nil, "\(logged)")
            #expect(try daemon.berth(["logs", server]).stdout == "serving\n")
            // kubelet rotates by renaming, then asks for the file to be opened again.
            let clientLog = config.logDirectory + "/client/0.log"
            try FileManager.default.moveItem(atPath: clientLog, toPath: clientLog + ".rotated")
            _ = try await cri.runtime.reopenContainerLog(.with { $0.containerID = client })
            try await Task.sleep(for: .milliseconds(600))
            #expect((try? String(contentsOfFile: clientLog, encoding: .utf8))?.contains(" stdout F tick\n") == true)

            let listed = try await cri.runtime.listContainers(.with { $0.filter.podSandboxID = podID }).containers
            #expect(Set(listed.map(\.id)) == Set(ids) && listed.allSatisfy { $0.state == .containerRunning })
            let serverStatus = try await cri.runtime.containerStatus(.with { $0.containerID = server }).status
            #expect(serverStatus.logPath == serverLog && serverStatus.metadata.name == "server" && serverStatus.startedAt > 0)
            #expect(serverStatus.labels == ["io.kubernetes.container.name": "server"] && serverStatus.image.image == image)
            // The engine's own store holds them: the Docker API lists the pod's containers by name.
            let names = try daemon.berth(["ps", "--format", "{{.Names}}"]).stdout.split(separator: "\n").map(String.init)
            #expect(Set(names) == ["k8s_POD_web_default_uid-web_0", "k8s_server_web_default_uid-web_0", "k8s_client_web_default_uid-web_0"])

            _ = try await cri.runtime.stopContainer(.with { $0.containerID = server; $0.timeout = 2 })
            let stopped = try await cri.runtime.containerStatus(.with { $0.containerID = server }).status
            #expect(stopped.state == .containerExited && stopped.finishedAt > 0 && stopped.reason == "Error")

            _ = try await cri.runtime.stopPodSandbox(.with { $0.podSandboxID = podID })
            #expect(try await cri.runtime.podSandboxStatus(.with { $0.podSandboxID = podID }).status.state == .sandboxNotready)
            #expect(try await cri.runtime.containerStatus(.with { $0.containerID = client }).status.state == .containerExited)
            _ = try await cri.runtime.removePodSandbox(.with { $0.podSandboxID = podID })
            #expect(try await cri.runtime.listPodSandbox(.init()).items.isEmpty)
            #expect(try await cri.runtime.listContainers(.init()).containers.isEmpty)
            #expect(try daemon.berth(["ps", "-a", "-q"]).stdout.isEmpty)
            // The pod's shared /dev/shm went with it.
            let mounts = TestPaths.mountInfo()
            #expect(!mounts.contains(daemon.execRoot), "mounts left under \(daemon.execRoot)")
            // Stopping and removing what is gone succeed, as the CRI asks.
            _ = try await cri.runtime.stopPodSandbox(.with { $0.podSandboxID = podID })
            _ = try await cri.runtime.removePodSandbox(.with { $0.podSandboxID = podID })
            await CRIImageTests.expectRefusal(.notFound) { try await cri.runtime.podSandboxStatus(.with { $0.podSandboxID = podID }) }
        }
    }

    @Test func statsOfContainersAndPodsAndResourceUpdates() async throws {
        try await Self.withPod { daemon, cri, image in
            let config = Self.podConfig(daemon, name: "measured")
            let podID = try await cri.runtime.runPodSandbox(.with { $0.config = config }).podSandboxID
            let busy = "dd if=/dev/zero of=/tmp/written bs=1k count=512 2>/dev/null; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 300"
            let id = try await cri.runtime.createContainer(.with {
                $0.podSandboxID = podID; $0.config = Self.containerConfig("busy", image: image, ["sh", "-c", busy]); $0.sandboxConfig = config
            }).containerID
            _ = try await cri.runtime.startContainer(.with { $0.containerID = id })
            try await Task.sleep(for: .seconds(1))

            let stats = try await cri.runtime.containerStats(.with { $0.containerID = id }).stats
            #expect(stats.attributes.id == id && stats.attributes.metadata.name == "busy")
            #expect(stats.cpu.usageCoreNanoSeconds.value > 0 && stats.cpu.timestamp > 0)
            #expect(stats.memory.workingSetBytes.value > 0 && stats.memory.usageBytes.value >= stats.memory.workingSetBytes.value)
            #expect(stats.writableLayer.usedBytes.value >= 512 * 1024, "the 512 KiB written to /tmp are the writable layer's")
            // A group without a user is refused, as kubelet's validation has it.
            var groupOnly = Self.containerConfig("group-only", image: image, ["true"])
            groupOnly.linux.securityContext.runAsGroup.value = 100
            await CRIImageTests.expectRefusal(.invalidArgument) {
                try await cri.runtime.createContainer(.with { $0.podSandboxID = podID; $0.config = groupOnly; $0.sandboxConfig = config })
            }
            let listed = try await cri.runtime.listContainerStats(.with { $0.filter.podSandboxID = podID }).stats
            #expect(listed.map(\.attributes.id) == [id])
            let pod = try await cri.runtime.podSandboxStats(.with { $0.podSandboxID = podID }).stats
            #expect(pod.attributes.id == podID && pod.linux.containers.map(\.attributes.id) == [id])
            #expect(pod.linux.cpu.usageCoreNanoSeconds.value >= stats.cpu.usageCoreNanoSeconds.value)
            #expect(pod.linux.process.processCount.value >= 2, "pause and sleep")
            #expect(pod.linux.network.interfaces.map(\.name).contains("eth0"))
            #expect(try await cri.runtime.listPodSandboxStats(.init()).stats.map(\.attributes.id) == [podID])

            _ = try await cri.runtime.updateContainerResources(.with {
                $0.containerID = id
                $0.linux = .with { $0.memoryLimitInBytes = 64 << 20; $0.cpuShares = 512 }
            })
            let limits = try daemon.berth(["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.CpuShares}}", id])
            #expect(limits.stdout == "67108864 512\n", "\(limits)")
            _ = try await cri.runtime.removePodSandbox(.with { $0.podSandboxID = podID })
        }
    }

    @Test func podsAndTheirContainersSurviveADaemonRestart() async throws {
        try await ImagePullTests.withPushedImage { registry, daemon, _ in
            let image = "\(registry.address)/\(Self.image)"
            let config = Self.podConfig(daemon, name: "lasting")
            let (podID, containerID) = try await CRIConnection.with(socket: CRIImageTests.criSocket(daemon)) { cri in
                _ = try await cri.images.pullImage(.with { $0.image.image = image })
                let podID = try await cri.runtime.runPodSandbox(.with { $0.config = config }).podSandboxID
                let id = try await cri.runtime.createContainer(.with {
                    $0.podSandboxID = podID; $0.config = Self.containerConfig("app", image: image, ["sleep", "300"]); $0.sandboxConfig = config
                }).containerID
                _ = try await cri.runtime.startContainer(.with { $0.containerID = id })
                return (podID, id)
            }
            #expect(daemon.stop() == 0, "berthd ends cleanly with its CRI socket served")
            try daemon.start()
            try await CRIConnection.with(socket: CRIImageTests.criSocket(daemon)) { cri in
                let pods = try await cri.runtime.listPodSandbox(.init()).items
                #expect(pods.map(\.id) == [podID] && pods.first?.state == .sandboxReady)
                let containers = try await cri.runtime.listContainers(.init()).containers
                #expect(containers.map(\.id) == [containerID] && containers.first?.state == .containerRunning)
                let hostname = try await Self.exec(cri, containerID, ["hostname"])
                #expect(Self.text(hostname.stdout) == "lasting-pod\n")
                _ = try await cri.runtime.removePodSandbox(.with { $0.podSandboxID = podID })
            }
        }
    }

    @Test func handlersItCannotServeAreRefusedAndLeaveNothing() async throws {
        try await DaemonFixture.with { daemon in
            try await CRIConnection.with(socket: CRIImageTests.criSocket(daemon)) { cri in
                var request = Runtime_V1_RunPodSandboxRequest()
                request.config = Self.podConfig(daemon)
                request.runtimeHandler = "no-such-handler"
                await CRIImageTests.expectRefusal(.invalidArgument) { try await cri.runtime.runPodSandbox(request) }
                request.runtimeHandler = "berth-vm"
                request.config.linux.securityContext.namespaceOptions.pid = .node
                await CRIImageTests.expectRefusal(.invalidArgument) { try await cri.runtime.runPodSandbox(request) }
                request.config.linux.securityContext.namespaceOptions.pid = .pod
                request.runtimeHandler = ""
                request.config.metadata.uid = ""
                await CRIImageTests.expectRefusal(.invalidArgument) { try await cri.runtime.runPodSandbox(request) }
                let pods = try await cri.runtime.listPodSandbox(.init()).items
                #expect(pods.isEmpty)
            }
            #expect(try daemon.berth(["ps", "-a", "-q"]).stdout.isEmpty)
        }
    }
}
