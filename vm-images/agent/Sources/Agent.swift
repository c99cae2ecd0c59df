/// berth's guest agent: PID 1 of a utility VM. It mounts what the kernel does not, finds its
/// virtio-serial port, says hello, then runs what the host asks and streams the results
/// (vm-images/PROTOCOL.md). Single-threaded: one poll loop over the port, SIGCHLD and each
/// process's descriptors.
@main
struct Agent {
    static func main() {
        mountBasics()
        loadModules()
        guard let port = openPort() else {
            log(Bytes.of("berth-agent: no virtio port named berth.agent; powering off"))
            powerOff()
        }
        var session = Session(port: port)
        session.send(AgentFrame(kind: UInt8(ascii: "h"), process: 0, payload: hello()))
        session.run()
    }

    /// devtmpfs, proc, sysfs and a devpts for ttys: the initramfs has only empty directories.
    static func mountBasics() {
        _ = mkdir("/dev", 0o755)
        _ = mount("devtmpfs", "/dev", "devtmpfs", 0, nil)
        _ = mkdir("/proc", 0o555)
        _ = mount("proc", "/proc", "proc", 0, nil)
        _ = mkdir("/sys", 0o555)
        _ = mount("sysfs", "/sys", "sysfs", 0, nil)
        agent_prepare_cgroups()
        _ = mkdir("/dev/pts", 0o755)
        _ = mount("devpts", "/dev/pts", "devpts", 0, "newinstance,ptmxmode=0666")
        _ = unlink("/dev/ptmx")
        _ = symlink("pts/ptmx", "/dev/ptmx")
        _ = mkdir("/tmp", 0o1777)
        _ = mount("tmpfs", "/tmp", "tmpfs", 0, nil)
        // Our own messages go to the serial console, which berthd keeps for diagnostics.
        let console = agent_open("/dev/console", O_RDWR)
        if console >= 0 {
            for fd in Int32(0)...2 { _ = dup2(console, fd) }
            if console > 2 { close(console) }
        }
    }

    /// A stock distribution kernel has virtio and overlay as modules; its initramfs lists them in
    /// load order in /modules.load (the minimal kernel has them built in and no such file).
    static func loadModules() {
        let list = agent_open("/modules.load", O_RDONLY)
        guard list >= 0 else { return }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBufferPointer { read(list, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            text += chunk[0..<count]
        }
        close(list)
        for path in text.split(separator: UInt8(ascii: "\n")) where !path.isEmpty {
            let module = Bytes.withCString(Array(path)) { agent_open($0, O_RDONLY) }
            if module < 0 || agent_load_module(module) != 0, agent_errno() != EEXIST {
                log(Bytes.of("berth-agent: loading ") + Array(path) + Bytes.of(" failed"))
            }
            if module >= 0 { close(module) }
        }
    }

    /// The port whose name is berth.agent; virtio devices may still be probing, so look a while.
    static func openPort() -> Int32? {
        for _ in 0..<200 {
            if let device = device(in: Bytes.of("/sys/class/virtio-ports"), whose: Bytes.of("name"), is: Bytes.of("berth.agent")) {
                let port = Bytes.withCString(Bytes.of("/dev/") + device) { agent_open($0, O_RDWR) }
                if port >= 0 { return port }
            }
            _ = usleep(10_000)
        }
        return nil
    }

    /// The entry of a sysfs `directory` whose `attribute` file's first line is `value`, if one is there now.
    static func device(in directory: [UInt8], whose attribute: [UInt8], is value: [UInt8]) -> [UInt8]? {
        guard let listing = Bytes.withCString(directory, { opendir($0) }) else { return nil }
        defer { closedir(listing) }
        while let entry = readdir(listing) {
            let device = Bytes.from(agent_dirent_name(entry))
            guard device.first != UInt8(ascii: ".") else { continue }
            let fd = Bytes.withCString(directory + [UInt8(ascii: "/")] + device + [UInt8(ascii: "/")] + attribute) { agent_open($0, O_RDONLY) }
            guard fd >= 0 else { continue }
            var text = [UInt8](repeating: 0, count: 64)
            let count = text.withUnsafeMutableBufferPointer { read(fd, $0.baseAddress, $0.count) }
            close(fd)
            if count > 0, Array(text[0..<count]).split(separator: UInt8(ascii: "\n")).first.map(Array.init) == value { return device }
        }
        return nil
    }

    static func hello() -> [UInt8] {
        var names = utsname()
        _ = uname(&names)
        let machine = withUnsafeBytes(of: &names.machine) { Array($0.prefix { $0 != 0 }) }
        let release = withUnsafeBytes(of: &names.release) { Array($0.prefix { $0 != 0 }) }
        return AgentTokens.encode([(Bytes.of("version"), Bytes.of("1")), (Bytes.of("arch"), machine), (Bytes.of("release"), release)])
    }

    static func log(_ message: [UInt8]) {
        Bytes.writeAll(2, message + [UInt8(ascii: "\n")])
    }

    static func powerOff() -> Never {
        sync()
        _ = agent_power_off()
        while true { _ = pause() }
    }
}

/// The conversation with the host and the processes it started.
struct Session {
    let port: Int32
    let childSignals: Int32
    let ownPidNamespace: Int32
    var reader = AgentFrameReader()
    var processes: [GuestProcess] = []
    /// Each running container's init (its pid here), whose namespaces its execs enter, by the name
    /// its `run` gave (empty: the VM's own container; a pod's VM holds more).
    var containers: [(name: [UInt8], pid: Int32)] = []

    init(port: Int32) {
        self.port = port
        childSignals = agent_child_signals()
        ownPidNamespace = agent_open_own_pid_namespace()
    }

    func send(_ frame: AgentFrame) {
        Bytes.writeAll(port, frame.encoded())
    }

    mutating func run() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var watched = [pollfd(fd: port, events: Int16(POLLIN), revents: 0), pollfd(fd: childSignals, events: Int16(POLLIN), revents: 0)]
            for process in processes {
                for output in process.outputs { watched.append(pollfd(fd: output.fd, events: Int16(POLLIN), revents: 0)) }
                if process.input >= 0, !process.pendingInput.isEmpty {
                    watched.append(pollfd(fd: process.input, events: Int16(POLLOUT), revents: 0))
                }
            }
            let ready = watched.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 1000) }
            if ready < 0 { continue }
            // With no host connected the port reports a hangup at once; do not spin on it.
            if watched[0].revents & Int16(POLLHUP) != 0, watched[0].revents & Int16(POLLIN) == 0 { _ = usleep(20_000) }
            if watched[0].revents & Int16(POLLIN) != 0 {
                let count = buffer.withUnsafeMutableBufferPointer { read(port, $0.baseAddress, $0.count) }
                if count > 0 {
                    buffer.withUnsafeBufferPointer { reader.append(UnsafeBufferPointer(rebasing: $0[0..<count])) }
                    while let frame = reader.next() { handle(frame) }
                }
            }
            if watched[1].revents & Int16(POLLIN) != 0 { reapChildren() }
            for entry in watched.dropFirst(2) where entry.revents != 0 {
                if entry.events == Int16(POLLOUT) { flushInput(fd: entry.fd) } else { forwardOutput(fd: entry.fd, buffer: &buffer) }
            }
            finishProcesses()
        }
    }

    mutating func handle(_ frame: AgentFrame) {
        switch frame.kind {
        case UInt8(ascii: "r"):
            let request = AgentTokens(frame.payload)
            let name = request.value("container") ?? []
            let isolating = request.value("isolate") == Bytes.of("1")
            // Selected before the fork: the child joins that cgroup, and its builtins read it.
            guard Bytes.withCString(name, { agent_select_container($0, isolating ? 1 : 0) }) == 0 else {
                send(AgentFrame(kind: UInt8(ascii: "f"), process: frame.process,
                                payload: Bytes.of("125 container names are 1 to 64 lowercase letters and digits")))
                return
            }
            if isolating, containers.contains(where: { $0.name == name }) {
                send(AgentFrame(kind: UInt8(ascii: "f"), process: frame.process, payload: Bytes.of("125 that container runs already")))
                return
            }
            let container = containers.first { $0.name == name }?.pid ?? 0
            // A pod's container may share the PID or IPC namespace of another (its sandbox's), by name.
            var sharing: (pid: Int32, ipc: Int32) = (0, 0)
            for (shared, isPid) in [(request.value("pid-of"), true), (request.value("ipc-of"), false)] where isolating {
                guard let other = shared else { continue }
                guard let holder = containers.first(where: { $0.name == other })?.pid else {
                    send(AgentFrame(kind: UInt8(ascii: "f"), process: frame.process,
                                    payload: Bytes.of("125 the container whose namespace it shares is not running")))
                    return
                }
                if isPid { sharing.pid = holder } else { sharing.ipc = holder }
            }
            switch GuestProcess.launch(number: frame.process, request, ownPidNamespace: ownPidNamespace, container: container, sharing: sharing) {
            case .started(let process):
                process.acknowledgesInput = request.value("input-acks") == Bytes.of("1")
                processes.append(process)
                if isolating {
                    containers.append((name, process.pid))
                    process.containerName = name
                    process.isContainerInit = true
                }
                send(AgentFrame(kind: UInt8(ascii: "s"), process: frame.process, payload: Bytes.decimal(Int(process.pid))))
            case .failed(let code, let message):
                send(AgentFrame(kind: UInt8(ascii: "f"), process: frame.process, payload: Bytes.decimal(code) + [UInt8(ascii: " ")] + message))
            }
        case UInt8(ascii: "h"):
            send(AgentFrame(kind: UInt8(ascii: "h"), process: 0, payload: Agent.hello()))
        case UInt8(ascii: "m"):
            let failure = Self.performMount(AgentTokens(frame.payload))
            send(AgentFrame(kind: UInt8(ascii: failure == nil ? "x" : "f"), process: frame.process,
                            payload: failure.map { Bytes.of("125 ") + $0 } ?? Bytes.decimal(0)))
        case UInt8(ascii: "a"):
            let failure = Self.configureInterface(AgentTokens(frame.payload))
            send(AgentFrame(kind: UInt8(ascii: failure == nil ? "x" : "f"), process: frame.process,
                            payload: failure.map { Bytes.of("125 ") + $0 } ?? Bytes.decimal(0)))
        case UInt8(ascii: "w"):
            let failure = Self.writeFile(AgentTokens(frame.payload))
            send(AgentFrame(kind: UInt8(ascii: failure == nil ? "x" : "f"), process: frame.process,
                            payload: failure.map { Bytes.of("125 ") + $0 } ?? Bytes.decimal(0)))
        case UInt8(ascii: "n"):
            let named = Bytes.withCString(frame.payload) { sethostname($0, frame.payload.count) } == 0
            send(AgentFrame(kind: UInt8(ascii: named ? "x" : "f"), process: frame.process,
                            payload: named ? Bytes.decimal(0) : Bytes.of("125 setting the hostname: ") + Bytes.from(strerror(agent_errno()))))
        case UInt8(ascii: "g"):
            let failure = Self.refreshIdentity(AgentTokens(frame.payload))
            send(AgentFrame(kind: UInt8(ascii: failure == nil ? "x" : "f"), process: frame.process,
                            payload: failure.map { Bytes.of("125 ") + $0 } ?? Bytes.decimal(0)))
        case UInt8(ascii: "i"):
            if let process = process(frame.process), process.input >= 0 {
                process.pendingInput.append(contentsOf: frame.payload)
                flushInput(fd: process.input)
            }
        case UInt8(ascii: "c"):
            if let process = process(frame.process) {
                process.inputClosing = true
                flushInput(fd: process.input)
            }
        case UInt8(ascii: "k"):
            if let process = process(frame.process), let signal = Bytes.parseDecimal(frame.payload) { _ = kill(process.pid, Int32(signal)) }
        case UInt8(ascii: "z"):
            let tokens = AgentTokens(frame.payload)
            if let process = process(frame.process), process.terminal >= 0,
               let rows = Bytes.parseDecimal(tokens.value("rows") ?? []), let columns = Bytes.parseDecimal(tokens.value("columns") ?? []) {
                _ = agent_set_window(process.terminal, UInt16(truncatingIfNeeded: rows), UInt16(truncatingIfNeeded: columns))
            }
        case UInt8(ascii: "q"):
            _ = kill(-1, SIGKILL)
            Agent.powerOff()
        default:
            send(AgentFrame(kind: UInt8(ascii: "f"), process: frame.process, payload: Bytes.of("125 unknown message kind")))
        }
    }

    /// Mounts what a `mount` request names, making the target first; the reason when it fails.
    static func performMount(_ request: AgentTokens) -> [UInt8]? {
        guard let requested = request.value("source"), let target = request.value("target"), let fstype = request.value("fstype") else {
            return Bytes.of("mount needs source, target and fstype")
        }
        guard let source = resolveDisk(requested) else { return Bytes.of("no disk ") + requested + Bytes.of(" appeared in 15 s") }
        let bind = request.value("bind") == Bytes.of("1")
        if fstype == Bytes.of("overlay") { makeOverlayDirectories(request.value("options") ?? []) }
        // A file is bound onto a file: the target's last component is made as one.
        let fileBind = bind && Bytes.withCString(source) { agent_is_directory($0) } == 0
        makeDirectories(target, includingLast: !fileBind)
        if fileBind, Bytes.withCString(target, { agent_make_file($0) }) != 0 {
            return Bytes.of("creating ") + target + Bytes.of(": ") + Bytes.from(strerror(agent_errno()))
        }
        // A disk is read afresh: a clone's guest may hold its template's blank slot in cache.
        if !bind, source.starts(with: Bytes.of("/dev/")) { _ = Bytes.withCString(source) { agent_forget_cached_blocks($0) } }
        // `flags` (the host's MS_* flags) says all; `readonly` and `bind` alone are the older way.
        var flags: UInt = request.value("readonly") == Bytes.of("1") ? UInt(MS_RDONLY) : 0
        if bind { flags |= UInt(MS_BIND | MS_REC) }
        if let given = request.value("flags") {
            guard let value = Bytes.parseDecimal(given) else { return Bytes.of("mount flags are not a number") }
            flags = UInt(value)
        }
        let data = request.value("options") ?? []
        let mounted = Bytes.withCString(source) { sourcePath in
            Bytes.withCString(target) { targetPath in
                Bytes.withCString(fstype) { type in
                    Bytes.withCString(data) { agent_mount(sourcePath, targetPath, type, flags, $0) }
                }
            }
        }
        guard mounted == 0 else {
            return Bytes.of("mounting ") + source + Bytes.of(" on ") + target + Bytes.of(": ") + Bytes.from(strerror(agent_errno()))
        }
        return nil
    }

    /// A `serial:SERIAL` source is the disk whose virtio serial that is (a disk plugged into a
    /// running VM takes the first free name), waited for while the guest finds it; other sources as given.
    static func resolveDisk(_ source: [UInt8]) -> [UInt8]? {
        let prefix = Bytes.of("serial:")
        guard source.starts(with: prefix) else { return source }
        for _ in 0..<1500 {
            if let device = Agent.device(in: Bytes.of("/sys/block"), whose: Bytes.of("serial"), is: Array(source.dropFirst(prefix.count))) {
                return Bytes.of("/dev/") + device
            }
            _ = usleep(10_000)
        }
        return nil
    }

    /// An overlay's upper and work directories, made when missing: a pod's containers keep theirs
    /// on the pod VM's writable disk, where nothing made them before.
    static func makeOverlayDirectories(_ options: [UInt8]) {
        for option in options.split(separator: UInt8(ascii: ",")) {
            for key in [Bytes.of("upperdir="), Bytes.of("workdir=")] where option.starts(with: key) {
                makeDirectories(Array(option.dropFirst(key.count)), includingLast: true)
            }
        }
    }

    /// mkdir -p of `path`, or of its parent.
    static func makeDirectories(_ path: [UInt8], includingLast: Bool) {
        var components = path.split(separator: UInt8(ascii: "/"))
        if !includingLast, !components.isEmpty { components.removeLast() }
        var partial: [UInt8] = []
        for component in components {
            partial += [UInt8(ascii: "/")] + component
            _ = Bytes.withCString(partial) { mkdir($0, 0o755) }
        }
    }

    /// An `address` request: the interface with that MAC address configured; the reason when it fails.
    static func configureInterface(_ request: AgentTokens) -> [UInt8]? {
        guard let mac = request.value("mac"), let address = request.value("address"),
              let prefix = Bytes.parseDecimal(request.value("prefix") ?? []) else {
            return Bytes.of("address needs mac, address and prefix")
        }
        let gateway = request.value("gateway")
        if let current = request.value("current-mac"), current != mac {
            let readdressed = Bytes.withCString(current) { currentText in Bytes.withCString(mac) { agent_readdress_interface(currentText, $0) } }
            guard readdressed == 0 else {
                return Bytes.of("giving the interface ") + current + Bytes.of(" the address ") + mac + Bytes.of(": ")
                    + Bytes.from(strerror(agent_errno()))
            }
        }
        let configured = Bytes.withCString(mac) { macText in
            Bytes.withCString(address) { addressText in
                if let gateway { return Bytes.withCString(gateway) { agent_configure_interface(macText, addressText, Int32(prefix), $0) } }
                return agent_configure_interface(macText, addressText, Int32(prefix), nil)
            }
        }
        guard configured == 0 else {
            return Bytes.of("configuring the interface ") + mac + Bytes.of(": ") + Bytes.from(strerror(agent_errno()))
        }
        return nil
    }

    /// A `generation` request, for a VM cloned from a template: the host's random `seed` (hex)
    /// credited to the guest's pool and the wall clock set to `time` (seconds.nanoseconds).
    static func refreshIdentity(_ request: AgentTokens) -> [UInt8]? {
        guard let seedText = request.value("seed"), let seed = Bytes.parseHex(seedText), let time = request.value("time") else {
            return Bytes.of("generation needs a hex seed and a time")
        }
        let parts = time.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 2, let seconds = Bytes.parseDecimal(Array(parts[0])), let nanoseconds = Bytes.parseDecimal(Array(parts[1])),
              nanoseconds < 1_000_000_000 else {
            return Bytes.of("generation: time is not seconds.nanoseconds")
        }
        if seed.withUnsafeBufferPointer({ agent_add_entropy($0.baseAddress, Int32($0.count)) }) != 0 {
            return Bytes.of("seeding the random pool: ") + Bytes.from(strerror(agent_errno()))
        }
        if agent_set_clock(Int64(seconds), Int(nanoseconds)) != 0 {
            return Bytes.of("setting the clock: ") + Bytes.from(strerror(agent_errno()))
        }
        return nil
    }

    /// A `write` request: `data` written to `path` (parents made); the reason when it fails.
    static func writeFile(_ request: AgentTokens) -> [UInt8]? {
        guard let path = request.value("path") else { return Bytes.of("write needs a path") }
        makeDirectories(path, includingLast: false)
        let fd = Bytes.withCString(path) { agent_create($0) }
        guard fd >= 0 else { return Bytes.of("writing ") + path + Bytes.of(": ") + Bytes.from(strerror(agent_errno())) }
        Bytes.writeAll(fd, request.value("data") ?? [])
        close(fd)
        return nil
    }

    func process(_ number: UInt32) -> GuestProcess? {
        processes.first { $0.number == number }
    }

    /// Writes what the host sent as far as the pipe takes it; closes the input once asked and drained.
    /// A process started with `input-acks` is told how many bytes its pipe took (`y`), so that the
    /// host keeps only a window of input in flight and the guest's memory holds no more.
    func flushInput(fd: Int32) {
        guard let process = processes.first(where: { $0.input == fd }) else { return }
        var taken = 0
        while !process.pendingInput.isEmpty {
            let written = process.pendingInput.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
            if written < 0 && agent_errno() == EINTR { continue }
            if written <= 0 { break }
            process.pendingInput.removeFirst(written)
            taken += written
        }
        if process.acknowledgesInput, taken > 0 { send(AgentFrame(kind: UInt8(ascii: "y"), process: process.number, payload: Bytes.decimal(taken))) }
        // A terminal's master is also its output: only a pipe is closed at end of input.
        if process.inputClosing, process.pendingInput.isEmpty, process.terminal < 0 {
            close(process.input)
            process.input = -1
        }
    }

    func forwardOutput(fd: Int32, buffer: inout [UInt8]) {
        guard let process = processes.first(where: { process in process.outputs.contains { $0.fd == fd } }),
              let output = process.outputs.first(where: { $0.fd == fd }) else { return }
        let count = buffer.withUnsafeMutableBufferPointer { read(fd, $0.baseAddress, $0.count) }
        if count > 0 {
            send(AgentFrame(kind: output.kind, process: process.number, payload: Array(buffer[0..<count])))
            return
        }
        if count < 0 && (agent_errno() == EAGAIN || agent_errno() == EINTR) { return }
        // End of output (a terminal reports EIO once its last user is gone).
        process.outputs.removeAll { $0.fd == fd }
        if fd == process.input { process.input = -1 }
        close(fd)
    }

    /// PID 1 reaps every orphan; the host's processes keep their status until their output ends.
    mutating func reapChildren() {
        var info = signalfd_siginfo()
        while withUnsafeMutableBytes(of: &info, { read(childSignals, $0.baseAddress, $0.count) }) > 0 {}
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            containers.removeAll { $0.pid == pid }
            guard let process = processes.first(where: { $0.pid == pid }) else { continue }
            process.exitStatus = agent_exited(status) != 0 ? Int(agent_exit_status(status)) : 128 + Int(agent_term_signal(status))
        }
    }

    mutating func finishProcesses() {
        for process in processes where process.finished {
            if process.input >= 0 { close(process.input) }
            let oomKilled = process.isContainerInit
                && Bytes.withCString(process.containerName, { agent_select_container($0, 0) }) == 0 && agent_container_oom_killed() != 0
            send(AgentFrame(kind: UInt8(ascii: "x"), process: process.number,
                            payload: Bytes.decimal(process.exitStatus ?? 0) + (oomKilled ? Bytes.of(" oom") : [])))
        }
        processes.removeAll { $0.finished }
    }
}
