/// A process the host asked for: its pid in the guest, the descriptors its output arrives on,
/// where its input goes, and its exit once known.
final class GuestProcess {
    let number: UInt32
    let pid: Int32
    /// Output descriptors still open, with the frame kind their bytes travel in.
    var outputs: [(fd: Int32, kind: UInt8)]
    /// Where `stdin` frames go (the pipe, or the terminal's master); -1 once closed.
    var input: Int32
    var pendingInput: [UInt8] = []
    var inputClosing = false
    /// Whether the host is told what the input pipe took (`input-acks`).
    var acknowledgesInput = false
    /// The terminal's master, for resizes; -1 without a tty.
    let terminal: Int32
    var exitStatus: Int?
    /// The container's init (`isolate`): its exit says whether the OOM killer struck its cgroup.
    var isContainerInit = false
    /// The name its `run` gave the container it confines (empty: the VM's own).
    var containerName: [UInt8] = []

    init(number: UInt32, pid: Int32, outputs: [(fd: Int32, kind: UInt8)], input: Int32, terminal: Int32) {
        self.number = number
        self.pid = pid
        self.outputs = outputs
        self.input = input
        self.terminal = terminal
    }

    var finished: Bool { exitStatus != nil && outputs.isEmpty }

    enum Launch {
        case started(GuestProcess)
        case failed(code: Int, message: [UInt8])
    }

    /// Forks and execs the `run` request's command (or runs the `builtin` it names on its first
    /// `arg`, `builtins.h`); the child reports a failed exec on a pipe
    /// that closes by itself when the exec succeeds. The container's init is forked into a pid
    /// namespace of its own (or into `sharing.pid`'s, the init of the container whose namespace it
    /// shares, and into `sharing.ipc`'s IPC namespace), an exec into `container`'s (the init's pid);
    /// `ownPidNamespace` is the agent's, to return to.
    static func launch(number: UInt32, _ request: AgentTokens, ownPidNamespace: Int32, container: Int32,
                       sharing: (pid: Int32, ipc: Int32) = (0, 0)) -> Launch {
        let arguments = request.values("arg")
        guard !arguments.isEmpty else { return .failed(code: 125, message: Bytes.of("no command given")) }
        let (parsed, malformed) = Confinement.parse(request)
        guard let confinement = parsed else { return .failed(code: 125, message: malformed ?? []) }
        let tty = request.value("tty") == Bytes.of("1")
        var status: [Int32] = [-1, -1]
        guard agent_report_channel(&status) == 0 else { return .failed(code: 125, message: Bytes.of("socketpair failed")) }
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
        var master: Int32 = -1, slave: Int32 = -1
        let window = (rows: UInt16(truncatingIfNeeded: Bytes.parseDecimal(request.value("rows") ?? []) ?? 24),
                      columns: UInt16(truncatingIfNeeded: Bytes.parseDecimal(request.value("columns") ?? []) ?? 80))
        // The terminal comes from the container's own devpts, so that it is a /dev/pts/N there: an
        // exec's from its init's; the init makes its own once its /dev exists, and sends the master.
        if tty, confinement.namespaces != .own {
            let ptmx = confinement.namespaces == .containers ? Bytes.of("/proc/") + Bytes.decimal(Int(container)) + Bytes.of("/root/dev/pts/ptmx")
                : Bytes.of("/dev/ptmx")
            master = Bytes.withCString(ptmx) { agent_open_pty($0, &slave) }
            guard master >= 0 else { return .failed(code: 125, message: Bytes.of("opening a pty failed")) }
            _ = agent_set_window(master, window.rows, window.columns)
        } else if !tty {
            guard agent_pipe(&input) == 0, agent_pipe(&output) == 0, agent_pipe(&errors) == 0 else {
                return .failed(code: 125, message: Bytes.of("pipe failed"))
            }
        }
        let (pid, forkFailure) = forkChild(into: confinement.namespaces, container: container, sharingPidOf: sharing.pid,
                                           returningTo: ownPidNamespace)
        if pid == 0 {
            runChild(request, confinement: confinement, container: container, ipcHolder: sharing.ipc, arguments: arguments, tty: tty,
                     window: window,
                     slave: slave, input: input[0], output: output[1], errors: errors[1], status: status[1])
        }
        close(status[1])
        if tty { if slave >= 0 { close(slave) } } else { close(input[0]); close(output[1]); close(errors[1]) }
        guard pid > 0 else {
            if tty { if master >= 0 { close(master) } } else { close(input[1]); close(output[0]); close(errors[0]) }
            close(status[0])
            return .failed(code: 125, message: forkFailure ?? [])
        }
        if tty, master < 0 { master = agent_receive_descriptor(status[0]) }
        // Empty when the exec happened; "<code> <message>" when it did not.
        var report: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            let count = chunk.withUnsafeMutableBufferPointer { read(status[0], $0.baseAddress, $0.count) }
            if count < 0 && agent_errno() == EINTR { continue }
            if count <= 0 { break }
            report.append(contentsOf: chunk[0..<count])
        }
        close(status[0])
        if !report.isEmpty || (tty && master < 0) {
            var reaped: Int32 = 0
            _ = waitpid(pid, &reaped, 0)
            if report.isEmpty { report = Bytes.of("125 the container's terminal never arrived") }
            if tty { if master >= 0 { close(master) } } else { close(input[1]); close(output[0]); close(errors[0]) }
            let space = report.firstIndex(of: UInt8(ascii: " ")) ?? report.count
            let code = Bytes.parseDecimal(Array(report[0..<space])) ?? 125
            return .failed(code: code, message: space < report.count ? Array(report[(space + 1)...]) : [])
        }
        if tty {
            _ = agent_set_nonblocking(master)
            return .started(GuestProcess(number: number, pid: pid, outputs: [(master, UInt8(ascii: "o"))], input: master, terminal: master))
        }
        _ = agent_set_nonblocking(output[0])
        _ = agent_set_nonblocking(errors[0])
        _ = agent_set_nonblocking(input[1])
        return .started(GuestProcess(number: number, pid: pid, outputs: [(output[0], UInt8(ascii: "o")), (errors[0], UInt8(ascii: "e"))],
                                     input: input[1], terminal: -1))
    }

    /// Forks into the pid namespace the process belongs in: the container's init into a new one (its
    /// PID 1) or the one of `sharedPid` (another container's init), an exec into the init's. A pid
    /// namespace applies to the children forked after entering it, so the agent enters it for this
    /// one fork and returns to its own (`own`). The child's pid (0 in the child), or -1 with the reason.
    private static func forkChild(into namespaces: Confinement.Namespaces, container: Int32, sharingPidOf sharedPid: Int32,
                                  returningTo own: Int32) -> (Int32, [UInt8]?) {
        switch namespaces {
        case .guest:
            break
        case .own where sharedPid <= 0:
            guard agent_unshare_pid_namespace() == 0 else { return (-1, Bytes.of("making the container's pid namespace failed")) }
        case .own, .containers:
            let holder = namespaces == .own ? sharedPid : container
            let entered = holder > 0 ? agent_open_namespace(holder, "pid") : -1
            defer { if entered >= 0 { close(entered) } }
            guard entered >= 0, agent_set_pid_namespace(entered) == 0 else {
                return (-1, container > 0 ? Bytes.of("entering the container's pid namespace failed") : Bytes.of("the container's process has ended"))
            }
        }
        let pid = fork()
        if pid != 0, namespaces != .guest, agent_set_pid_namespace(own) != 0 {
            Agent.log(Bytes.of("berth-agent: returning to its own pid namespace failed"))
        }
        return (pid, pid < 0 ? Bytes.of("fork failed") : nil)
    }

    /// In the child: stdio, session, namespaces and root, directory, identity, then exec; never returns.
    private static func runChild(_ request: AgentTokens, confinement: Confinement, container: Int32, ipcHolder: Int32, arguments: [[UInt8]],
                                 tty: Bool,
                                 window: (rows: UInt16, columns: UInt16), slave: Int32, input: Int32, output: Int32, errors: Int32,
                                 status: Int32) -> Never {
        agent_unblock_signals()
        func fail(_ code: Int, _ message: [UInt8]) -> Never {
            Bytes.writeAll(status, Bytes.decimal(code) + [UInt8(ascii: " ")] + message)
            _exit(Int32(code))
        }
        _ = setsid()
        if !tty {
            _ = dup2(input, 0)
            _ = dup2(output, 1)
            _ = dup2(errors, 2)
        }
        let builtin = request.value("builtin")
        // A builtin works for the host, not as the container: outside its cgroup, so that it is
        // neither counted in the container's processes nor frozen with them.
        if let failed = confinement.enter(root: request.value("root"), container: container, ipcHolder: ipcHolder, joiningCgroup: builtin == nil) {
            fail(125, failed)
        }
        if tty {
            var terminal = slave
            if terminal < 0 {
                var ownSlave: Int32 = -1
                let master = agent_open_pty("/dev/pts/ptmx", &ownSlave)
                guard master >= 0 else { fail(125, Bytes.of("opening the container's terminal failed")) }
                _ = agent_set_window(master, window.rows, window.columns)
                guard agent_send_descriptor(status, master) == 0 else { fail(125, Bytes.of("passing the container's terminal failed")) }
                close(master)
                terminal = ownSlave
            }
            _ = agent_make_controlling_terminal(terminal)
            for fd in Int32(0)...2 { _ = dup2(terminal, fd) }
            if terminal > 2 { close(terminal) }
        }
        if let builtin {
            guard Bytes.withCString(Bytes.of("/"), { chdir($0) }) == 0 else { fail(125, Bytes.of("chdir / failed")) }
            // Started: the report channel closes as an exec would close it, and with it every
            // descriptor but stdio (none is closed by an exec here, and the input pipe's other end
            // would keep standard input from ending).
            agent_close_from(3)
            let second = arguments.count > 1 ? arguments[1] : []
            let status = Bytes.withCString(builtin) { name in
                Bytes.withCString(arguments[0]) { first in Bytes.withCString(second) { agent_run_builtin(name, first, $0) } }
            }
            _exit(status)
        }
        let directory = request.value("cwd") ?? Bytes.of("/")
        guard Bytes.withCString(directory, { agent_enter_directory($0) }) == 0 else {
            if agent_errno() == ELOOP {
                fail(125, Bytes.of("working directory ") + directory + Bytes.of(": leads through a /proc magic link or a symlink loop"))
            }
            fail(125, Bytes.of("chdir ") + directory + Bytes.of(" failed"))
        }
        let gid = Bytes.parseDecimal(request.value("gid") ?? []) ?? 0
        let uid = Bytes.parseDecimal(request.value("uid") ?? []) ?? 0
        if let failed = confinement.dropPrivileges(uid: UInt32(truncatingIfNeeded: uid), gid: UInt32(truncatingIfNeeded: gid)) { fail(125, failed) }
        let environment = request.values("env")
        let command = resolve(arguments[0], environment: environment, fail: fail)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { bytes in Bytes.withCString(bytes) { strdup($0) } }
        argv.append(nil)
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { bytes in Bytes.withCString(bytes) { strdup($0) } }
        envp.append(nil)
        // Last, as berth-shim does it: the reaper is already confined as the command is.
        if confinement.reaper { agent_become_reaper(status) }
        _ = Bytes.withCString(command) { execve($0, &argv, &envp) }
        fail(agent_errno() == ENOENT ? 127 : 126, Bytes.of("exec ") + command + Bytes.of(" failed"))
    }

    /// The command's path, looked up in the request's PATH as Docker does (127 when absent).
    private static func resolve(_ command: [UInt8], environment: [[UInt8]], fail: (Int, [UInt8]) -> Never) -> [UInt8] {
        if command.contains(UInt8(ascii: "/")) { return command }
        let prefix = Bytes.of("PATH=")
        var path = Bytes.of("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        for variable in environment where variable.starts(with: prefix) { path = Array(variable.dropFirst(prefix.count)) }
        for directory in path.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? [UInt8(ascii: ".")] : Array(directory)) + [UInt8(ascii: "/")] + command
            if Bytes.withCString(candidate, { agent_is_executable_file($0) }) != 0 { return candidate }
        }
        fail(127, Bytes.of("exec: \"") + command + Bytes.of("\": executable file not found in $PATH"))
    }
}
