import APIModels
import CRIClient
import CRIProtocol
import Foundation
import GRPCCore
import Testing

/// Pods of the utility-VM handlers: one VM per pod, booted for its sandbox, that every container of
/// the pod joins, each in namespaces of its own inside it, all on the VM's network card.
extension CRIPodTests {
    /// The release and machine a command in the pod's containers reports, and the pod's QEMU.
    static func runTwoContainerPod(_ daemon: DaemonFixture, _ cri: CRIConnection, image: String, handler: String,
                                   check: (_ server: String, _ client: String) async throws -> Void) async throws {
        var config = Self.podConfig(daemon, name: "vm-\(handler.replacingOccurrences(of: "berth-", with: ""))")
        config.dnsConfig = .init()
        // Settings of the pod's namespaces in its VM: its IPC namespace's and its network's (the VM's).
        config.linux.sysctls = ["kernel.shm_rmid_forced": "1", "net.ipv4.ping_group_range": "0 2147483647"]
        let podID = try await cri.runtime.runPodSandbox(.with { $0.config = config; $0.runtimeHandler = handler }).podSandboxID
        let status = try await cri.runtime.podSandboxStatus(.with { $0.podSandboxID = podID }).status
        #expect(status.state == .sandboxReady && status.runtimeHandler == handler)
        #expect(!status.network.ip.isEmpty, "a VM pod has its VM's address")

        let serve = "mkdir -p /www && echo hello-from-server > /www/index.html && echo serving && exec httpd -f -p 127.0.0.1:8080 -h /www"
        // The server shares the pod's PID namespace (the CRI's default), the client asks for its own.
        var clientConfig = Self.containerConfig("client", image: image, ["sleep", "1000"])
        clientConfig.linux.securityContext.namespaceOptions.pid = .container
        // The node's paths reach the pod's VM through its share; kubelet may name one through a link.
        let nodePath = try TestPaths.makeScratch("vm-pod-\(handler)")
        defer { TestPaths.removeScratch(nodePath) }
        try "from-node\n".write(toFile: nodePath + "/node", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: nodePath + "-link", withDestinationPath: nodePath)
        defer { unlink(nodePath + "-link") }
        clientConfig.mounts = [.with { $0.hostPath = nodePath + "-link"; $0.containerPath = "/node" },
                               .with { $0.hostPath = nodePath; $0.containerPath = "/node-ro"; $0.readonly = true }]
        var ids: [String] = []
        for container in [Self.containerConfig("server", image: image, ["sh", "-c", serve]), clientConfig] {
            let id = try await cri.runtime.createContainer(.with { $0.podSandboxID = podID; $0.config = container; $0.sandboxConfig = config })
                .containerID
            _ = try await cri.runtime.startContainer(.with { $0.containerID = id })
            ids.append(id)
        }
        let (server, client) = (ids[0], ids[1])

        // One VM: the sandbox's QEMU is every container's process on the host.
        let pids = try ([podID] + ids).map { try daemon.berth(["inspect", "-f", "{{.State.Pid}}", $0]).stdout }
        #expect(Set(pids).count == 1 && pids[0] != "0\n", "\(pids)")
        #expect(try daemon.berth(["inspect", "-f", "{{.Berth.UtilityVM.Start}}", client]).stdout.hasPrefix("shared with container"))
        // One network: the server listens on the VM's loopback, the client reaches it there.
        var fetched = try await Self.exec(cri, client, ["wget", "-qO-", "http://127.0.0.1:8080/"])
        for _ in 0..<20 where fetched.exitCode != 0 {
            try await Task.sleep(for: .milliseconds(250))
            fetched = try await Self.exec(cri, client, ["wget", "-qO-", "http://127.0.0.1:8080/"])
        }
        #expect(Self.text(fetched.stdout) == "hello-from-server\n" && fetched.exitCode == 0, "\(Self.text(fetched.stderr))")
        // The pod's PID namespace in the VM is the sandbox's, whose PID 1 is berth-pause; a container
        // that asks for its own is PID 1 there, and sees none of the pod's other processes.
        let processes = try await Self.exec(cri, client, ["sh", "-c", "hostname; ps -o comm | grep -c httpd; cat /proc/1/cmdline"])
        #expect(Self.text(processes.stdout) == "\(config.hostname)\n0\nsleep\u{0}1000\u{0}", "\(Self.text(processes.stdout))")
        let pod = try await Self.exec(cri, server, ["sh", "-c", "ps -o comm | grep -c httpd; cat /proc/1/cmdline"])
        #expect(Self.text(pod.stdout) == "1\n/pause\u{0}", "\(Self.text(pod.stdout))")
        let settings = try await Self.exec(cri, server, ["cat", "/proc/sys/kernel/shm_rmid_forced", "/proc/sys/net/ipv4/ping_group_range"])
        #expect(Self.text(settings.stdout) == "1\n0\t2147483647\n", "\(Self.text(settings.stdout))")
        let split = try await Self.exec(cri, server, ["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(Self.text(split.stdout) == "out\n" && Self.text(split.stderr) == "err\n" && split.exitCode == 3)
        let logged = try String(contentsOfFile: config.logDirectory + "/server/0.log", encoding: .utf8)
        #expect(logged.hasSuffix(" stdout F serving\n"), "\(logged)")
        let nodeFiles = try await Self.exec(cri, client, ["sh", "-c", "cat /node/node; echo from-pod > /node/pod; touch /node-ro/x || echo read-only"])
        #expect(Self.text(nodeFiles.stdout) == "from-node\nread-only\n", "\(Self.text(nodeFiles.stdout))\(Self.text(nodeFiles.stderr))")
        #expect(try String(contentsOfFile: nodePath + "/pod", encoding: .utf8) == "from-pod\n")
        let stats = try await cri.runtime.containerStats(.with { $0.containerID = client }).stats
        #expect(stats.memory.workingSetBytes.value > 0 && stats.attributes.id == client)

        try await check(server, client)

        let domain = try daemon.berth(["inspect", "-f", "{{.Berth.UtilityVM.Domain}}", podID]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try await cri.runtime.stopPodSandbox(.with { $0.podSandboxID = podID })
        #expect(try await cri.runtime.containerStatus(.with { $0.containerID = server }).status.state == .containerExited)
        _ = try await cri.runtime.removePodSandbox(.with { $0.podSandboxID = podID })
        #expect(try await cri.runtime.listContainers(.init()).containers.isEmpty)
        #expect(try daemon.berth(["ps", "-a", "-q"]).stdout.isEmpty)
        let pid = Int32(pids[0].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        var gone = false
        for _ in 0..<100 where !gone {
            let domains = try Command.run(["virsh", "-c", "qemu:///system", "list", "--name"]).stdout
            gone = kill(pid, 0) != 0 && !domains.contains(domain)
            if !gone { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(gone, "the pod's VM \(domain) (QEMU \(pid)) is still there")
        #expect(TestPaths.mountPoints(under: daemon.root).isEmpty && FileManager.default.fileExists(atPath: nodePath + "/node"))
    }

    @Test func aBerthVMPodRunsItsContainersInOneUtilityVM() async throws {
        let guestRelease = try String(contentsOfFile: try ContainerLifecycleTests.guestKernel() + "/release", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try await Self.withPod { daemon, cri, image in
            try await Self.runTwoContainerPod(daemon, cri, image: image, handler: "berth-vm") { server, client in
                for id in [server, client] {
                    let release = try await Self.exec(cri, id, ["uname", "-r"])
                    #expect(Self.text(release.stdout) == guestRelease + "\n", "the guest's kernel, not the host's")
                }
                // Where this host's runtime cannot follow a VM pod, the refusal says why.
                var hostNetwork = Self.podConfig(daemon, name: "vm-host-network")
                hostNetwork.linux.securityContext.namespaceOptions.network = .node
                await CRIImageTests.expectRefusal(.invalidArgument) {
                    try await cri.runtime.runPodSandbox(.with { $0.config = hostNetwork; $0.runtimeHandler = "berth-vm" })
                }
            }
        }
    }

    @Test func aBerthArm64PodRunsArm64ImagesOnThisHost() async throws {
        try await Self.withPod { daemon, cri, image in
            try await Self.runTwoContainerPod(daemon, cri, image: image, handler: "berth-arm64") { server, client in
                for id in [server, client] {
                    let machine = try await Self.exec(cri, id, ["uname", "-m"])
                    #expect(Self.text(machine.stdout) == "aarch64\n")
                }
                // The pod's image variant was pulled for it: kubelet had pulled the host's.
                let platform = try daemon.berth(["inspect", "-f", "{{.Berth.Platform}}", client]).stdout
                #expect(platform == "linux/arm64\n", "\(platform)")
            }
        }
    }
}
