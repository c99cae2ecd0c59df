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
    /// The terminal's master, for resizes; -1 without a tty.
    let terminal: Int32
    var exitStatus: Int?

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

    /// Forks and execs the `run` request's command; the child reports a failed exec on a pipe
    /// that closes by itself when the exec succeeds.
    static func launch(number: UInt32, _ request: AgentTokens) -> Launch {
        let arguments = request.values("arg")
        guard !arguments.isEmpty else { return .failed(code: 125, message: Bytes.of("no command given")) }
        let tty = request.value("tty") == Bytes.of("1")
        var status: [Int32] = [-1, -1]
        guard agent_pipe(&status) == 0 else { return .failed(code: 125, message: Bytes.of("pipe failed")) }
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
        var master: Int32 = -1, slave: Int32 = -1
        if tty {
            master = agent_open_pty(&slave)
            guard master >= 0 else { return .failed(code: 125, message: Bytes.of("opening a pty failed")) }
            let rows = Bytes.parseDecimal(request.value("rows") ?? []) ?? 24
            let columns = Bytes.parseDecimal(request.value("columns") ?? []) ?? 80
            _ = agent_set_window(master, UInt16(truncatingIfNeeded: rows), UInt16(truncatingIfNeeded: columns))
        } else {
            guard agent_pipe(&input) == 0, agent_pipe(&output) == 0, agent_pipe(&errors) == 0 else {
                return .failed(code: 125, message: Bytes.of("pipe failed"))
            }
        }
        let pid = fork()
        if pid == 0 {
            runChild(request, arguments: arguments, tty: tty, slave: slave, input: input[0], output: output[1],
                     errors: errors[1], status: status[1])
        }
        close(status[1])
        if tty { close(slave) } else { close(input[0]); close(output[1]); close(errors[1]) }
        guard pid > 0 else { return .failed(code: 125, message: Bytes.of("fork failed")) }
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
        if !report.isEmpty {
            var reaped: Int32 = 0
            _ = waitpid(pid, &reaped, 0)
            if tty { close(master) } else { close(input[1]); close(output[0]); close(errors[0]) }
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

    /// In the child: stdio, session, root, directory, identity, then exec; never returns.
    private static func runChild(_ request: AgentTokens, arguments: [[UInt8]], tty: Bool, slave: Int32, input: Int32, output: Int32,
                                 errors: Int32, status: Int32) -> Never {
        agent_unblock_signals()
        func fail(_ code: Int, _ message: [UInt8]) -> Never {
            Bytes.writeAll(status, Bytes.decimal(code) + [UInt8(ascii: " ")] + message)
            _exit(Int32(code))
        }
        _ = setsid()
        if tty {
            _ = agent_make_controlling_terminal(slave)
            for fd in Int32(0)...2 { _ = dup2(slave, fd) }
        } else {
            _ = dup2(input, 0)
            _ = dup2(output, 1)
            _ = dup2(errors, 2)
        }
        if let root = request.value("root") {
            guard Bytes.withCString(root, { chroot($0) }) == 0 else { fail(125, Bytes.of("chroot failed")) }
        }
        let directory = request.value("cwd") ?? Bytes.of("/")
        guard Bytes.withCString(directory, { chdir($0) }) == 0 else { fail(125, Bytes.of("chdir ") + directory + Bytes.of(" failed")) }
        let gid = Bytes.parseDecimal(request.value("gid") ?? []) ?? 0
        let uid = Bytes.parseDecimal(request.value("uid") ?? []) ?? 0
        guard setgid(gid_t(gid)) == 0, setuid(uid_t(uid)) == 0 else { fail(125, Bytes.of("setting the user failed")) }
        let environment = request.values("env")
        let command = resolve(arguments[0], environment: environment, fail: fail)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { bytes in Bytes.withCString(bytes) { strdup($0) } }
        argv.append(nil)
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { bytes in Bytes.withCString(bytes) { strdup($0) } }
        envp.append(nil)
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
