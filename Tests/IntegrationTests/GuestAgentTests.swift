import Foundation
import NativeRuntime
import Testing
import VMRuntime

/// The minimal x86_64 guest kernel (guest-kernel/) and the Embedded Swift agent (vm-images/) boot
/// under QEMU with TCG and speak the agent protocol over a virtio-serial port. The test's initramfs
/// adds busybox to the agent's, so there are commands to run.
@Suite(.serialized) struct GuestAgentTests {
    /// The guest kernel and an initramfs of the agent plus busybox, built (or found cached) once.
    struct GuestFiles {
        let kernel: String
        let initramfs: String
        let release: String

        /// `stock`: Debian's kernel with the modules vm-images/build adds, instead of the minimal one.
        static func prepare(in scratch: String, stock: Bool = false) throws -> GuestFiles {
            var kernel = try Command.succeed([TestPaths.repository + "/guest-kernel/build", "x86_64"], timeout: 1500)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            var images = try Command.succeed([TestPaths.repository + "/vm-images/build", "x86_64"], timeout: 600)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if stock {
                let release = try #require(try FileManager.default.contentsOfDirectory(atPath: images + "/stock").first)
                images += "/stock/" + release
                kernel = images
                try release.write(toFile: scratch + "/stock-release", atomically: true, encoding: .utf8)
            }
            // The kernel unpacks concatenated archives: the agent's, then busybox and its links.
            let extra = scratch + "/busybox"
            try FileManager.default.createDirectory(atPath: extra + "/bin", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: extra + "/bin/busybox")
            for tool in ["sh", "cat", "echo", "stty", "sleep", "uname"] {
                try FileManager.default.createSymbolicLink(atPath: extra + "/bin/" + tool, withDestinationPath: "busybox")
            }
            try Command.succeed(["sh", "-c", "cd \(extra) && find . | cpio -o -H newc --quiet | gzip -n > ../extra.cpio.gz && "
                                    + "cat \(images)/initramfs.cpio ../extra.cpio.gz > ../initramfs.cpio"])
            let release = try String(contentsOfFile: stock ? scratch + "/stock-release" : kernel + "/release", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return GuestFiles(kernel: kernel + "/kernel", initramfs: scratch + "/initramfs.cpio", release: release)
        }
    }

    /// A booted VM, by QEMU directly or as a libvirt domain; ended and its files removed however
    /// the test ends.
    final class BootedVM {
        let scratch: String
        let files: GuestFiles
        let qemu: Process?
        let domain: (hypervisor: LibvirtHypervisor, name: String)?
        let channel: AgentChannel
        var release: String { files.release }

        init(libvirt: Bool = false, stock: Bool = false, disks: [UtilityVMDefinition.Disk] = [], scratch existing: String? = nil) throws {
            let scratch = try existing ?? TestPaths.makeScratch("vm")
            self.scratch = scratch
            // deinit does not run for an init that throws: what was made so far goes here.
            var booted = false
            var made: (qemu: Process?, domain: (hypervisor: LibvirtHypervisor, name: String)?) = (nil, nil)
            defer {
                if !booted {
                    if let qemu = made.qemu { kill(qemu.processIdentifier, SIGKILL); qemu.waitUntilExit() }
                    if let domain = made.domain { try? domain.hypervisor.destroy(domain.name) }
                    TestPaths.removeScratch(scratch)
                }
            }
            files = try GuestFiles.prepare(in: scratch, stock: stock)
            let socket = scratch + "/agent.sock"
            if libvirt {
                let hypervisor = try LibvirtHypervisor(uri: "qemu:///system")
                var definition = UtilityVMDefinition(name: "berth-test-\(UUID().uuidString.prefix(8).lowercased())",
                                                     kernel: files.kernel, initramfs: files.initramfs,
                                                     consoleLog: scratch + "/console.log", agentSocket: socket)
                definition.disks = disks
                try hypervisor.create(definition)
                domain = (hypervisor, definition.name)
                made.domain = domain
                qemu = nil
            } else {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-system-x86_64")
                process.arguments = [
                    "-M", "q35", "-accel", "tcg", "-m", "256", "-smp", "1", "-nographic", "-nodefaults", "-no-reboot",
                    "-kernel", files.kernel, "-initrd", files.initramfs, "-append", "console=ttyS0 quiet panic=-1",
                    "-serial", "file:\(scratch)/console.log",
                    "-chardev", "socket,id=agent,path=\(socket),server=on,wait=off",
                    "-device", "virtio-serial-pci", "-device", "virtserialport,chardev=agent,name=berth.agent",
                ]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                qemu = process
                made.qemu = process
                domain = nil
            }
            channel = try AgentChannel(socketPath: socket, timeout: 30)
            booted = true
        }

        deinit {
            if let qemu {
                if qemu.isRunning { kill(qemu.processIdentifier, SIGKILL) }
                qemu.waitUntilExit()
            }
            if let domain { try? domain.hypervisor.destroy(domain.name) }
            TestPaths.removeScratch(scratch)
        }

        var isRunning: Bool {
            if let qemu { return qemu.isRunning }
            if let domain { return domain.hypervisor.isRunning(domain.name) }
            return false
        }

        func waitUntilGone(seconds: TimeInterval) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while isRunning, Date() < deadline { usleep(50_000) }
            return !isRunning
        }

        func expectHello() throws {
            let hello = try channel.receive(timeout: 60)
            #expect(hello?.kind == UInt8(ascii: "h"), "no hello; console:\n\(console)")
            let tokens = AgentTokens(hello?.payload ?? [])
            #expect(tokens.value("version") == Array("1".utf8))
            #expect(tokens.value("arch") == Array("x86_64".utf8))
            #expect(tokens.value("release") == Array(release.utf8), "the guest runs the minimal kernel, not the host's")
        }

        var console: String { (try? String(contentsOfFile: scratch + "/console.log", encoding: .utf8)) ?? "" }

        func send(_ kind: Character, _ process: UInt32, _ payload: [UInt8] = []) throws {
            try channel.send(AgentFrame(kind: kind.asciiValue!, process: process, payload: payload))
        }

        /// Frames until the process's exit or failure: output by stream, and how it ended.
        func collect(_ process: UInt32, timeout: TimeInterval = 60) throws -> (stdout: String, stderr: String, end: String) {
            var stdout = [UInt8](), stderr = [UInt8]()
            let deadline = Date().addingTimeInterval(timeout)
            while let frame = try channel.receive(timeout: deadline.timeIntervalSinceNow) {
                guard frame.process == process else { continue }
                switch Character(UnicodeScalar(frame.kind)) {
                case "o": stdout += frame.payload
                case "e": stderr += frame.payload
                case "x": return (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self),
                                  "exit " + String(decoding: frame.payload, as: UTF8.self))
                case "f": return ("", "", "failed " + String(decoding: frame.payload, as: UTF8.self))
                default: continue
                }
            }
            return (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self), "timed out")
        }
    }

    static func run(_ arguments: [String], tty: Bool = false, root: String? = nil) -> [UInt8] {
        AgentTokens.encode(arguments.map { (Array("arg".utf8), Array($0.utf8)) }
            + [(Array("env".utf8), Array("PATH=/bin".utf8)), (Array("tty".utf8), Array((tty ? "1" : "0").utf8)),
               (Array("rows".utf8), Array("30".utf8)), (Array("columns".utf8), Array("100".utf8))]
            + (root.map { [(Array("root".utf8), Array($0.utf8))] } ?? []))
    }

    static func mount(_ source: String, on target: String, type: String, options: String = "", readOnly: Bool = false) -> [UInt8] {
        AgentTokens.encode([("source", source), ("target", target), ("fstype", type), ("options", options),
                            ("readonly", readOnly ? "1" : "0")].map { (Array($0.0.utf8), Array($0.1.utf8)) })
    }

    @Test func containerRootIsAssembledFromLayerDisks() throws {
        let (vm, writable) = try Self.vmWithImageRoot()
        #expect(try GuestDisks(directory: vm.scratch + "/layers").layerDisk(snapshot: "/nonexistent", chainID: "sha256:busybox")
                    == vm.scratch + "/layers/sha256-busybox.ext4", "a layer's disk is made once")
        try vm.expectHello()
        let mounts = [Self.mount("/dev/vda", on: "/layers/0", type: "ext4", readOnly: true),
                      Self.mount("/dev/vdb", on: "/writable", type: "ext4"),
                      Self.mount("overlay", on: "/rootfs", type: "overlay",
                                 options: "lowerdir=/layers/0,upperdir=/writable/upper,workdir=/writable/work")]
        for (index, mount) in mounts.enumerated() {
            try vm.send("m", UInt32(index + 1), mount)
            let answer = try vm.collect(UInt32(index + 1))
            #expect(answer.end == "exit 0", "mount \(index): \(answer); console:\n\(vm.console)")
        }
        try vm.send("r", 9, Self.run(["sh", "-c", "uname -m; ls /bin/busybox; echo persisted > /made; sync"], root: "/rootfs"))
        let inside = try vm.collect(9)
        #expect(inside.stdout == "x86_64\n/bin/busybox\n" && inside.end == "exit 0", "\(inside)")
        try vm.send("m", 10, Self.mount("/dev/vda", on: "/layers/again", type: "ext4"))
        #expect(try vm.collect(10).end.hasPrefix("failed 125 mounting /dev/vda"), "a read-only disk cannot be mounted writable")
        try vm.send("q", 0)
        #expect(vm.waitUntilGone(seconds: 30))
        // What the container wrote is on its own disk, in the overlay's upper directory.
        let made = try Command.run(["debugfs", "-R", "cat /upper/made", writable])
        #expect(made.stdout == "persisted\n", "\(made)")
    }

    @Test func agentBootsAndRunsCommands() throws {
        let vm = try BootedVM()
        try vm.expectHello()

        try vm.send("r", 1, Self.run(["uname", "-r"]))
        let uname = try vm.collect(1)
        #expect(uname.stdout == vm.release + "\n" && uname.end == "exit 0", "\(uname)")

        try vm.send("r", 2, Self.run(["sh", "-c", "echo out; echo err >&2; exit 3"]))
        let split = try vm.collect(2)
        #expect(split.stdout == "out\n" && split.stderr == "err\n" && split.end == "exit 3", "\(split)")

        try vm.send("r", 3, Self.run(["no-such-command"]))
        let missing = try vm.collect(3)
        #expect(missing.end.hasPrefix("failed 127 ") && missing.end.contains("executable file not found"), "\(missing)")

        try vm.send("r", 4, Self.run(["cat"]))
        try vm.send("i", 4, Array("through stdin\n".utf8))
        try vm.send("c", 4)
        let piped = try vm.collect(4)
        #expect(piped.stdout == "through stdin\n" && piped.end == "exit 0", "\(piped)")

        try vm.send("r", 5, Self.run(["stty", "size"], tty: true))
        let sized = try vm.collect(5)
        #expect(sized.stdout.contains("30 100") && sized.end == "exit 0", "\(sized)")

        try vm.send("r", 6, Self.run(["sleep", "60"]))
        _ = try vm.channel.receive(timeout: 30)
        try vm.send("k", 6, Array("15".utf8))
        let killed = try vm.collect(6)
        #expect(killed.end == "exit 143", "a signal reaches the process: \(killed)")

        // Shutdown powers the VM off: QEMU exits by itself.
        try vm.send("q", 0)
        #expect(vm.waitUntilGone(seconds: 30), "the VM did not power off; console:\n\(vm.console)")
    }

    /// A VM booted with the busybox image's layer disk and an empty writable disk.
    static func vmWithImageRoot() throws -> (vm: BootedVM, writable: String) {
        let built = try TestImageTests.build(into: nil)
        let scratch = try TestPaths.makeScratch("vm-root")
        try Command.succeed(["umoci", "unpack", "--image", built.layout + ":amd64", scratch + "/bundle"])
        let layer = try GuestDisks(directory: scratch + "/layers").layerDisk(snapshot: scratch + "/bundle/rootfs", chainID: "sha256:busybox")
        let writable = scratch + "/writable.ext4"
        try GuestDisks.makeWritableDisk(at: writable, sizeMiB: 64)
        let vm = try BootedVM(libvirt: true, disks: [.init(path: layer, readOnly: true), .init(path: writable, readOnly: false)],
                              scratch: scratch)
        return (vm, writable)
    }

    static let rootMounts: [LaunchSpec.Mount] = [
        .init(source: "/dev/vda", target: "/layers/0", type: "ext4", flags: [.readOnly]),
        .init(source: "/dev/vdb", target: "/writable", type: "ext4", flags: []),
        .init(source: "overlay", target: "/rootfs", type: "overlay", flags: [],
              data: "lowerdir=/layers/0,upperdir=/writable/upper,workdir=/writable/work"),
    ]

    @Test func shimRunsAContainerInTheVM() async throws {
        let (vm, _) = try Self.vmWithImageRoot()
        let runtime = vm.scratch + "/run"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        var spec = LaunchSpec(id: "vm1", arguments: ["sh", "-c", "echo out; echo err >&2; uname -r; exit 7"],
                              environment: ["PATH=/bin:/usr/bin"], rootfs: "", lowerDirectories: [], upperDirectory: "",
                              workDirectory: "", logPath: vm.scratch + "/vm1-json.log", exitPath: vm.scratch + "/exit",
                              socketPath: runtime + "/shim.sock")
        spec.namespaces = []
        spec.placement = .utilityVM(.init(agentSocket: vm.scratch + "/agent.sock", mounts: Self.rootMounts, root: "/rootfs"))
        try spec.encoded().write(to: URL(fileURLWithPath: runtime + "/spec"))
        // The test takes the boot-time hello; the shim, connecting after, must ask for its own.
        try vm.expectHello()
        vm.channel.close()
        let process = try ShimLauncher(shimPath: TestPaths.binDirectory + "/berth-shim")
            .launch(specPath: runtime + "/spec", diagnosticsPath: runtime + "/shim.log")
        #expect(process.containerPID == 0, "the container's pid is the VM's")
        _ = try await ShimClient(socketPath: spec.socketPath).start()
        // The shim may be done before a waiter could connect: its exit record is what lasts.
        let deadline = Date().addingTimeInterval(60)
        while ExitRecord.read(spec.exitPath) == nil, Date() < deadline { usleep(50_000) }
        #expect(ExitRecord.read(spec.exitPath)?.code == 7)
        let log = try String(contentsOfFile: spec.logPath, encoding: .utf8)
        #expect(log.contains(#""log":"out\n","stream":"stdout""#) && log.contains(#""log":"err\n","stream":"stderr""#), "\(log)")
        #expect(log.contains(#""log":"\#(vm.release)\n""#), "the process ran on the guest kernel: \(log)")
        // The VM ends with its container.
        #expect(vm.waitUntilGone(seconds: 30), "console:\n\(vm.console)")
    }

    @Test func infoNamesTheGuestKernelEachPlatformBoots() async throws {
        let scratch = try TestPaths.makeScratch("vm-info")
        defer { TestPaths.removeScratch(scratch) }
        let files = try GuestFiles.prepare(in: scratch)
        try await DaemonFixture.with { daemon in
            let info = try daemon.berth(["info"])
            let row = info.stdout.split(separator: "\n").first { $0.contains("linux/amd64") && $0.contains("system VM") } ?? ""
            #expect(row.hasSuffix("\(files.release) (minimal)"), "\(info.stdout)")
        }
    }

    @Test func agentAnswersInATransientLibvirtDomain() throws {
        let vm = try BootedVM(libvirt: true)
        try vm.expectHello()
        try vm.send("r", 1, Self.run(["uname", "-r"]))
        let uname = try vm.collect(1)
        #expect(uname.stdout == vm.release + "\n" && uname.end == "exit 0", "\(uname)")
        // Powering off ends the transient domain: libvirt keeps nothing of it.
        try vm.send("q", 0)
        #expect(vm.waitUntilGone(seconds: 30), "the domain outlived its guest; console:\n\(vm.console)")
        let remaining = vm.domain.map { $0.hypervisor.names() } ?? []
        let name = vm.domain?.name ?? ""
        #expect(!remaining.contains(name), "\(remaining)")
    }

    @Test func stockKernelBootsWithTheModulesItLacks() throws {
        // virtio_pci and virtio_console are modules there: without them the agent finds no port.
        let vm = try BootedVM(libvirt: true, stock: true)
        try vm.expectHello()
        try vm.send("r", 1, Self.run(["uname", "-r"]))
        #expect(try vm.collect(1).stdout == vm.release + "\n")
        try vm.send("q", 0)
        #expect(vm.waitUntilGone(seconds: 30))
    }

    @Test func destroyingTheVMClosesTheAgentPort() throws {
        let vm = try BootedVM(libvirt: true)
        try vm.expectHello()
        try vm.send("r", 1, Self.run(["sleep", "60"]))
        #expect(try vm.channel.receive(timeout: 30)?.kind == UInt8(ascii: "s"))
        try vm.domain?.hypervisor.destroy(vm.domain?.name ?? "")
        #expect(throws: AgentChannelError.closed) { _ = try vm.channel.receive(timeout: 30) }
        #expect(!vm.isRunning)
    }
}
