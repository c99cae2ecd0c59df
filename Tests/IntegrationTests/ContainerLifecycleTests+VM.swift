import Foundation
import Testing
import VMRuntime

extension ContainerLifecycleTests {
    /// Builds (or finds cached) the minimal guest kernel and the agent's initramfs a daemon will find
    /// in the default cache; returns the kernel's directory.
    static func guestKernel() throws -> String {
        let kernel = try Command.succeed([TestPaths.repository + "/guest-kernel/build", "x86_64"], timeout: 1500)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try Command.succeed([TestPaths.repository + "/vm-images/build", "x86_64"], timeout: 600)
        return kernel
    }

    @Test func vmIsolatedContainersRunOnTheGuestKernel() async throws {
        let kernel = try Self.guestKernel()
        let guestRelease = try String(contentsOfFile: kernel + "/release", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var host = utsname()
        uname(&host)
        let hostRelease = withUnsafeBytes(of: host.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        // Cold boots through libvirt only: VMTemplateTests cover clones.
        try await Self.withImages(daemonOptions: ["--no-vm-templates"]) { daemon in
            let release = try Self.docker(daemon, ["run", "--rm", "--isolation=hyperv", Self.image, "uname", "-r"], timeout: 120)
            #expect(release.stdout == guestRelease + "\n" && guestRelease != hostRelease, "\(release)")
            let code = try daemon.berth(["run", "--rm", "--isolation", "vm", Self.image, "sh", "-c", "echo out; echo err >&2; exit 3"],
                                        timeout: 120)
            #expect(code.status == 3 && code.stdout == "out\n" && code.stderr == "err\n", "\(code)")

            #expect(try Self.docker(daemon, ["run", "-d", "--isolation=hyperv", "--annotation", "berth.vm.accelerator=tcg", "--name", "vm1",
                                             Self.image, "sh", "-c",
                                             "echo started; touch /made; sleep 300"], timeout: 120).status == 0)
            let pid = try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}} {{.HostConfig.Isolation}}", "vm1"]).stdout
            let qemu = pid.split(separator: " ").first.flatMap { try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8) } ?? ""
            #expect(qemu.hasPrefix("qemu-system") && pid.hasSuffix(" hyperv\n"), "the container's pid is its VM's: \(pid) \(qemu)")
            let details = try Self.docker(daemon, ["inspect", "-f", "{{.Berth.Isolation}} {{.Berth.Platform}} "
                + "{{.Berth.UtilityVM.Accelerator}} {{.Berth.UtilityVM.GuestKernel}} {{.Berth.UtilityVM.MemoryMiB}} {{.Berth.UtilityVM.Start}}",
                "vm1"]).stdout
            #expect(details == "vm linux/amd64 tcg \(guestRelease) (minimal) 256 cold\n", "\(details)")
            // libvirt skips its per-start CPU feature read-back for a utility VM, and marks the domain for it.
            let taints = try Self.docker(daemon, ["inspect", "-f", "{{json .Berth.UtilityVM.Taints}}", "vm1"]).stdout
            #expect(taints.hasPrefix("[\"custom-hypervisor-feature: "), "\(taints)")
            #expect(try daemon.berth(["info"]).stdout.contains("VM templates: off (berthd --no-vm-templates)"))
            var logs = ""
            for _ in 0..<100 where !logs.contains("started") {
                logs = try Self.docker(daemon, ["logs", "vm1"]).stdout
                usleep(100_000)
            }
            #expect(logs == "started\n")
            // The VM and its shim outlive berthd; the next berthd follows them again.
            daemon.signal(SIGKILL)
            usleep(700_000)
            try daemon.start()
            #expect(try Self.docker(daemon, ["ps", "--format", "{{.Names}}"]).stdout == "vm1\n")
            // Execs run in the container's root in its VM, relayed by the container's shim.
            let id = try Self.docker(daemon, ["inspect", "-f", "{{.Id}}", "vm1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let domainLog = (try? String(contentsOfFile: "/var/log/libvirt/qemu/berth-\(id.prefix(12)).log", encoding: .utf8)) ?? ""
            #expect(domainLog.contains("is tainted: custom-hypervisor-feature"), "libvirt took the capability filter")
            #expect(try Self.docker(daemon, ["exec", "vm1", "uname", "-r"]).stdout == guestRelease + "\n")
            #expect(try Self.docker(daemon, ["exec", "vm1", "hostname"]).stdout == id.prefix(12) + "\n")
            let piped = try Self.docker(daemon, ["exec", "-i", "vm1", "sh", "-c", "test -e /made && cat && ps -o args | grep -c '^sleep 300'"],
                                        input: Data("through the relay\n".utf8))
            #expect(piped.status == 0 && piped.stdout == "through the relay\n1\n", "\(piped)")
            let failing = try Self.docker(daemon, ["exec", "vm1", "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(failing.status == 3 && failing.stdout == "out\n" && failing.stderr == "err\n", "\(failing)")
            let missing = try Self.docker(daemon, ["exec", "vm1", "no-such-command"])
            // As Docker does, an exec's start failure arrives in its output stream.
            #expect(missing.status == 126 && missing.stdout.contains("executable file not found"), "\(missing)")
            let mounts = try Self.docker(daemon, ["exec", "-u", "nobody", "vm1", "sh", "-c", "id -u; ls /proc/self/fd | wc -l; df /dev/shm | tail -1"])
            #expect(mounts.stdout.hasPrefix("65534\n") && mounts.stdout.contains("/dev/shm"), "\(mounts)")
            let execShell = try Self.throughTerminal(
                ##"[{"expect":"# "},{"send":"stty size; tty; echo $((40+2))\r"},{"expect":"42"},{"send":"exit 5\r"}]"##,
                ["docker", "-H", daemon.host, "exec", "-it", "vm1", "sh"])
            #expect(execShell.status == 5 && execShell.stdout.contains("24 80") && execShell.stdout.contains("/dev/pts/"), "\(execShell)")
            // sh is PID 1 of the container's pid namespace in the guest, as natively: SIGTERM without a
            // handler does not end it, so stop kills it after the timeout.
            #expect(try Self.docker(daemon, ["stop", "-t", "2", "vm1"], timeout: 60).status == 0)
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.ExitCode}}", "vm1"]).stdout == "137\n")
            let hypervisor = try LibvirtHypervisor(uri: "qemu:///system")
            #expect(Self.waitUntilGone(hypervisor, "berth-\(id.prefix(12))"), "the VM ends with its container")
            // A restart boots a new VM on the same writable disk.
            #expect(try Self.docker(daemon, ["start", "vm1"], timeout: 120).status == 0)
            #expect(try Self.docker(daemon, ["rm", "-f", "vm1"], timeout: 60).status == 0)
            #expect(Self.waitUntilGone(hypervisor, "berth-\(id.prefix(12))"))
            #expect(!FileManager.default.fileExists(atPath: daemon.root + "/vms/\(id.prefix(24))"), "rm leaves no VM files")
            // An interactive shell in a VM, through a terminal: sized, typed into, and its exit code.
            let shell = try Self.throughTerminal(
                ##"[{"expect":"# "},{"send":"stty size; echo $((40+2))\r"},{"expect":"42"},{"send":"exit 4\r"}]"##,
                ["docker", "-H", daemon.host, "run", "--rm", "-it", "--isolation=vm", Self.image, "sh"])
            #expect(shell.status == 4 && shell.stdout.contains("24 80") && shell.stdout.contains("42"), "\(shell)")
            // Killing QEMU under a running container ends it, with the reason (and the console's tail,
            // though a quiet kernel that was not failing has printed nothing).
            #expect(try Self.docker(daemon, ["run", "-d", "--isolation=vm", "--name", "doomed", Self.image, "sleep", "300"],
                                    timeout: 120).status == 0)
            let qemuPID = Int32(try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}}", "doomed"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(qemuPID > 0 && kill(qemuPID, SIGKILL) == 0)
            let ended = try Self.docker(daemon, ["wait", "doomed"], timeout: 60)
            #expect(ended.stdout == "137\n", "\(ended)")
            let reason = try Self.docker(daemon, ["inspect", "-f", "{{.State.Error}}", "doomed"]).stdout
            #expect(reason.hasPrefix("the utility VM stopped while the container ran"), "\(reason)")
            #expect(try Self.docker(daemon, ["rm", "doomed"]).status == 0)
            // logs -f follows a VM container's output as it comes and ends with it.
            #expect(try Self.docker(daemon, ["run", "-d", "--isolation=vm", "--name", "talker", Self.image, "sh", "-c",
                                             "echo one; sleep 1; echo two >&2"], timeout: 120).status == 0)
            let followed = try Self.docker(daemon, ["logs", "-f", "talker"], timeout: 60)
            #expect(followed.status == 0 && followed.stdout == "one\n" && followed.stderr == "two\n", "\(followed)")
            #expect(try Self.docker(daemon, ["rm", "talker"]).status == 0)
            let bad = try Self.docker(daemon, ["run", "--rm", "--isolation=sandbox", Self.image, "true"])
            #expect(bad.status == 125 && bad.stderr.contains("invalid isolation"), "\(bad)")
            let badAccelerator = try daemon.berth(["run", "--rm", "--isolation=vm", "--vm-accel", "hvf", Self.image, "true"])
            #expect(badAccelerator.status == 125 && badAccelerator.stderr.contains("invalid VM accelerator: hvf"), "\(badAccelerator)")
            let nativeAccelerator = try daemon.berth(["run", "--rm", "--vm-accel", "tcg", Self.image, "true"])
            #expect(nativeAccelerator.status == 125 && nativeAccelerator.stderr.contains("only to containers in utility VMs"))
            #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty, "refused creations leave nothing")
        }
    }

    /// VMs end in the background once their container has: true when `name` is gone within 10 s.
    /// The newest Debian stock kernel vm-images/build prepared in the default cache for `architecture`.
    static func stockKernel(_ architecture: String) throws -> (release: String, path: String) {
        let images = "/var/cache/berth/vm-images"
        let stock = try FileManager.default.contentsOfDirectory(atPath: images).filter { $0.hasPrefix(architecture + "-") }
            .flatMap { directory in
                ((try? FileManager.default.contentsOfDirectory(atPath: "\(images)/\(directory)/stock")) ?? []).map { ($0, "\(images)/\(directory)/stock/\($0)/kernel") }
            }
            .filter { FileManager.default.fileExists(atPath: $0.1) }
            .max { $0.0.compare($1.0, options: .numeric) == .orderedAscending }
        guard let stock else { throw TestFailure("no stock \(architecture) kernel under \(images): vm-images/build \(architecture) makes it") }
        return (stock.0, stock.1)
    }

    /// `--vm-kernel` (the docker CLI: an annotation) boots the container's VM on the kernel asked
    /// for: Debian's stock kernel by name or release, in an x86_64 and an arm64 VM, or a kernel image
    /// by path. Another architecture's image, an unknown name, a native container, and a kernel that
    /// cannot start the agent (the stock one without its modules has no virtio console) are refused
    /// with the reason, and leave no container behind.
    @Test func aChosenGuestKernelRunsTheContainer() async throws {
        let minimal = try Self.guestKernel()
        try Self.armGuests()
        let minimalRelease = try String(contentsOfFile: minimal + "/release", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let stock = try Self.stockKernel("x86_64"), armStock = try Self.stockKernel("arm64")
        let armMinimal = try Command.succeed([TestPaths.repository + "/guest-kernel/build", "arm64"], timeout: 1800)
            .trimmingCharacters(in: .whitespacesAndNewlines) + "/kernel"
        try await Self.withImages { daemon in
            let annotated = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", "--annotation", "berth.vm.kernel=stock", Self.image,
                                                     "uname", "-r"], timeout: 180)
            #expect(annotated.status == 0 && annotated.stdout == stock.release + "\n" && stock.release != minimalRelease, "\(annotated)")
            let arm = try daemon.berth(["run", "--rm", "--platform", "linux/arm64", "--vm-kernel", "stock", Self.multiArchImage, "uname", "-rm"],
                                       timeout: 180)
            #expect(arm.status == 0 && arm.stdout == armStock.release + " aarch64\n", "\(arm)")
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "chosen", "--isolation=vm", "--annotation", "berth.vm.kernel=" + stock.release,
                                             Self.image, "sleep", "300"], timeout: 180).status == 0)
            let details = try Self.docker(daemon, ["inspect", "-f", "{{.Berth.UtilityVM.GuestKernel}}", "chosen"])
            #expect(details.stdout == "\(stock.release) (stock)\n", "\(details)")
            #expect(try Self.docker(daemon, ["rm", "-f", "chosen"]).status == 0)
            let byPath = try daemon.berth(["run", "--rm", "--isolation", "vm", "--vm-kernel", minimal + "/kernel", Self.image, "uname", "-r"],
                                          timeout: 180)
            #expect(byPath.status == 0 && byPath.stdout == minimalRelease + "\n", "\(byPath)")

            let refused: [([String], String)] = [
                (["--isolation", "vm", "--vm-kernel", armMinimal], "guest kernel \(armMinimal) is for arm64, not for the x86_64 VM this container runs in"),
                (["--isolation", "vm", "--vm-kernel", "nope"], "no guest kernel nope for x86_64 VMs: use minimal (\(minimalRelease)), stock, "),
                (["--vm-kernel", "stock"], "a guest kernel applies only to containers in utility VMs"),
                (["--isolation", "vm", "--vm-kernel", daemon.scratch], "guest kernel \(daemon.scratch): Is a directory"),
            ]
            for (arguments, message) in refused {
                let result = try daemon.berth(["run", "--name", "refused"] + arguments + [Self.image, "true"], timeout: 60)
                #expect(result.status == 125 && result.stderr.contains(message), "\(arguments): \(result)")
            }
            let noConsole = try daemon.berth(["run", "--rm", "--isolation", "vm", "--vm-kernel", stock.path, Self.image, "true"], timeout: 180)
            #expect(noConsole.status == 125 && noConsole.stderr.contains("no virtio port named berth.agent") && noConsole.stderr.contains("built in)"),
                    "\(noConsole)")
            #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty)
        }
    }

    static func waitUntilGone(_ hypervisor: LibvirtHypervisor, _ name: String) -> Bool {
        for _ in 0..<200 where hypervisor.isRunning(name) { usleep(50_000) }
        return !hypervisor.isRunning(name)
    }

    /// A daemon's `--cache-dir` of its own under `scratch`, with the host's verdict on KVM, so that
    /// daemon does not probe again.
    static func scratchCache(in scratch: String) throws -> String {
        let cache = scratch + "/cache"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: cache + "/accelerator.json") {
            try? FileManager.default.copyItem(atPath: "/var/cache/berth/accelerator.json", toPath: cache + "/accelerator.json")
        }
        return cache
    }

    /// A guest whose /init is `script` (busybox sh), in a cache of its own with the real kernel.
    static func brokenGuestCache(_ scratch: String, kernel: String, script: String) throws -> String {
        let cache = try Self.scratchCache(in: scratch)
        let images = cache + "/vm-images/x86_64-broken"
        let tree = scratch + "/initramfs"
        for directory in [images, cache + "/guest-kernels", tree + "/bin", tree + "/dev"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        if !FileManager.default.fileExists(atPath: cache + "/guest-kernels/x86_64-real") {
            try FileManager.default.createSymbolicLink(atPath: cache + "/guest-kernels/x86_64-real", withDestinationPath: kernel)
        }
        try? FileManager.default.removeItem(atPath: tree + "/init")
        try ("#!/bin/busybox sh\n" + script).write(toFile: tree + "/init", atomically: true, encoding: .utf8)
        try Command.succeed(["sh", "-c", """
            set -e; cd '\(tree)'; chmod 755 init; cp /bin/busybox bin/; [ -e dev/console ] || mknod dev/console c 5 1
            find . | cpio -o -H newc --quiet > '\(images)/initramfs.cpio'
            chmod -R a+rX '\(scratch)'
            """])
        return cache
    }

    /// A guest that never answers, and one whose init dies (the kernel panics): the start fails
    /// with the reason and the console's last lines, and no VM is left running.
    @Test func vmThatNeverAnswersOrPanicsFailsWithItsConsole() async throws {
        let kernel = try Self.guestKernel()
        let scratch = try TestPaths.makeScratch("vm-faults")
        defer { TestPaths.removeScratch(scratch) }
        let cache = try Self.brokenGuestCache(scratch, kernel: kernel, script: "echo berth-test: the agent hangs\nexec /bin/busybox sleep 3600\n")
        try await Self.withImages(daemonOptions: ["--cache-dir", cache, "--vm-agent-timeout", "5"]) { daemon in
            let hypervisor = try LibvirtHypervisor(uri: "qemu:///system")
            // Other tests' VMs come and go: this container's domain is named after its id.
            let idFile = scratch + "/hung.id"
            let hung = try Self.docker(daemon, ["run", "--rm", "--cidfile", idFile, "--isolation=vm", Self.image, "true"], timeout: 120)
            #expect(hung.status == 125 && hung.stderr.contains("the VM's agent did not answer within 5 s")
                && hung.stderr.contains("berth-test: the agent hangs"), "\(hung)")
            #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty, "--rm removed the container")
            let hungID = try String(contentsOfFile: idFile, encoding: .utf8)
            #expect(hungID.count == 64 && Self.waitUntilGone(hypervisor, "berth-\(hungID.prefix(12))"), "no VM left running")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/vms")) ?? []).isEmpty)

            _ = try Self.brokenGuestCache(scratch, kernel: kernel, script: "echo berth-test: the agent crashes\nexit 3\n")
            let crashed = try Self.docker(daemon, ["run", "-d", "--name", "crashed", "--isolation=vm", Self.image, "true"], timeout: 120)
            #expect(crashed.status == 125 && crashed.stderr.contains("the VM stopped before its agent answered")
                && crashed.stderr.contains("Kernel panic"), "\(crashed)")
            let state = try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", "crashed"]).stdout
            #expect(state.hasPrefix("created 125 the VM stopped") && state.contains("Kernel panic"), "\(state)")
            let crashedID = try Self.docker(daemon, ["inspect", "-f", "{{.Id}}", "crashed"]).stdout
            #expect(Self.waitUntilGone(hypervisor, "berth-\(crashedID.prefix(12))"))
            #expect(try Self.docker(daemon, ["rm", "crashed"]).status == 0)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/vms")) ?? []).isEmpty)
        }
    }

    /// libvirtd going away (here: the socket berthd reaches it through, a proxy this test runs)
    /// fails VM starts clearly and makes nothing; once it is back, berthd reconnects by itself.
    @Test func vmStartWhileLibvirtIsDownFailsAndRecovers() async throws {
        _ = try Self.guestKernel()
        let scratch = try TestPaths.makeScratch("libvirt-down")
        defer { TestPaths.removeScratch(scratch) }
        let proxy = LibvirtProxy(socket: scratch + "/libvirt.sock")
        defer { proxy.stop() }
        try proxy.start()
        try await Self.withImages(daemonOptions: ["--libvirt-uri", "qemu+unix:///system?socket=\(proxy.socket)"]) { daemon in
            let up = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", Self.image, "echo", "up"], timeout: 120)
            #expect(up.status == 0 && up.stdout == "up\n", "\(up)")
            proxy.stop()
            let down = try Self.docker(daemon, ["run", "--name", "down", "--isolation=vm", Self.image, "true"], timeout: 120)
            #expect(down.status == 125 && down.stderr.contains("libvirt"), "\(down)")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/vms")) ?? []).isEmpty, "nothing made")
            #expect(try Self.docker(daemon, ["rm", "down"]).status == 0)
            try proxy.start()
            let back = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", Self.image, "echo", "back"], timeout: 120)
            #expect(back.status == 0 && back.stdout == "back\n", "\(back)")
        }
    }
}

extension ContainerLifecycleTests {
    /// A data root inside a directory libvirt's QEMU user cannot search (a 0700 temporary
    /// directory): berthd says so when it starts, `info` warns, and VM runs are refused at once
    /// with the directory and the user named, making nothing; native containers are unaffected.
    @Test func aRootQEMUCannotReachRefusesVMsWithTheReason() async throws {
        _ = try Self.guestKernel()
        let built = try TestImageTests.build(into: nil)
        let scratch = try TestPaths.makeScratch("closed-root")
        chmod(scratch, 0o700)
        let daemon = try DaemonFixture(scratch: scratch)
        defer { daemon.tearDown() }
        try daemon.start()
        try Command.succeed(["sh", "-c", "tar -cf - -C \(built.layout) . | docker -H \(daemon.host) load"])
        let info = try Self.docker(daemon, ["info"])
        #expect(info.stdout.contains("utility VMs cannot start: libvirt-qemu cannot search \(scratch) (mode 700)")
                || info.stderr.contains("utility VMs cannot start: libvirt-qemu cannot search \(scratch) (mode 700)"), "\(info)")
        let refused = try Self.docker(daemon, ["run", "--name", "refused", "--isolation=vm", Self.image, "true"], timeout: 120)
        #expect(refused.status == 125 && refused.stderr.contains("libvirt-qemu cannot search \(scratch)")
                && !refused.stderr.contains("Permission denied"), "\(refused)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/vms")) ?? []).isEmpty, "nothing made")
        #expect(try Self.docker(daemon, ["run", "--rm", Self.image, "echo", "native"]).stdout == "native\n")
        // Searchable again: the next berthd's probe finds it so, and the VM runs.
        daemon.stop()
        chmod(scratch, 0o711)
        try daemon.start()
        let ran = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", Self.image, "echo", "vm"], timeout: 120)
        #expect(ran.status == 0 && ran.stdout == "vm\n", "\(ran)")
    }
}

/// socat forwarding a socket of the test's to libvirtd's; stopping it (and the children it forked
/// per connection) is libvirtd going away for whoever connected through it.
final class LibvirtProxy: @unchecked Sendable {
    let socket: String
    private var process: Process?

    init(socket: String) { self.socket = socket }

    func start() throws {
        unlink(socket)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        process.arguments = ["UNIX-LISTEN:\(socket),fork,mode=600", "UNIX-CONNECT:/run/libvirt/libvirt-sock"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
    }

    func stop() {
        guard let process, process.isRunning else { return }
        let parent = process.processIdentifier
        // Its children first, found by their parent pid: they hold the open connections.
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
            return fields.count > 2 && Int32(fields[1]) == parent
        }
        kill(parent, SIGKILL)
        for child in children { kill(child, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
        unlink(socket)
    }
}
