import CLinux
import Glibc
import SystemSupport

/// Network namespaces pinned by a bind mount of their nsfs file, as `ip netns` keeps them, so they
/// outlive the thread that made them and can be joined by path. Everything here switches the
/// calling thread's namespace for a moment and back: call it from a thread of its own (not
/// Swift's cooperative pool, whose threads must not be held by syscalls).
public enum NetworkNamespace {
    /// Makes a namespace pinned at `path` (a new file), with its loopback up, and returns a route
    /// socket acting inside it.
    public static func create(at path: String) throws -> RouteSocket {
        let file = open(path, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0o444)
        guard file >= 0 else { throw NetlinkError(operation: "creating \(path)", reason: SystemError.text(errno)) }
        close(file)
        do {
            let socket = try inNewNamespace {
                // Pinned before anything else: if this fails, nothing else was made.
                guard mount("/proc/thread-self/ns/net", path, nil, UInt(MS_BIND), nil) == 0 else {
                    throw NetlinkError(operation: "pinning the namespace at \(path)", reason: SystemError.text(errno))
                }
                // Docker's defaults: any user may bind low ports and ping, since the namespace is the
                // container's alone (and a container in a user namespace holds no capability over it).
                for (setting, value) in [("ip_unprivileged_port_start", "0"), ("ping_group_range", "0 2147483647")] {
                    let file = open("/proc/sys/net/ipv4/" + setting, O_WRONLY | O_CLOEXEC)
                    if file >= 0 { _ = value.withCString { write(file, $0, strlen($0)) }; close(file) }
                }
                return try RouteSocket()
            }
            try socket.setUp(1)
            return socket
        } catch {
            remove(at: path)
            throw error
        }
    }

    /// A route socket acting inside the namespace pinned at `path`.
    public static func socket(inNamespaceAt path: String) throws -> RouteSocket {
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw NetlinkError(operation: "opening \(path)", reason: SystemError.text(errno)) }
        defer { close(target) }
        return try switched(enter: { berth_enter_network_namespace(target) }, "entering \(path)") { try RouteSocket() }
    }

    /// A TCP connection to `port` on the loopback of the namespace at `path` (IPv4, then IPv6, as a
    /// client resolving "localhost" tries them), made inside it so it reaches what listens there
    /// only. Returns the connected socket; it stays in that namespace whatever thread uses it.
    public static func connectToLoopback(inNamespaceAt path: String, port: UInt16) throws -> Int32 {
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw NetlinkError(operation: "opening \(path)", reason: SystemError.text(errno)) }
        defer { close(target) }
        return try switched(enter: { berth_enter_network_namespace(target) }, "entering \(path)") {
            var refusal = ECONNREFUSED
            for family in [AF_INET, AF_INET6] {
                let socket = Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                guard socket >= 0 else { refusal = errno; continue }
                if connectLoopback(socket, family: family, port: port) == 0 { return socket }
                refusal = errno
                close(socket)
            }
            throw NetlinkError(operation: "connecting to localhost:\(port)", reason: SystemError.text(refusal))
        }
    }

    /// A TCP connection from the host's namespace to an IPv4 `address` (a utility VM's, on a bridge).
    public static func connect(to address: String, port: UInt16) throws -> Int32 {
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else {
            throw NetlinkError(operation: "connecting to \(address):\(port)", reason: "not an IPv4 address")
        }
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw NetlinkError(operation: "making a socket", reason: SystemError.text(errno)) }
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = SystemError.text(errno)
            close(socket)
            throw NetlinkError(operation: "connecting to \(address):\(port)", reason: reason)
        }
        return socket
    }

    private static func connectLoopback(_ socket: Int32, family: Int32, port: UInt16) -> Int32 {
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }

    /// Unpins the namespace; it ends once no process is left in it, and its veths with it.
    public static func remove(at path: String) {
        umount2(path, Int32(MNT_DETACH))
        unlink(path)
    }

    /// Runs `body` opened in a namespace of its own.
    private static func inNewNamespace<T>(_ body: () throws -> T) throws -> T {
        try switched(enter: { berth_new_network_namespace() }, "making a network namespace", body)
    }

    private static func switched<T>(enter: () -> Int32, _ what: String, _ body: () throws -> T) throws -> T {
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard original >= 0 else { throw NetlinkError(operation: "opening this thread's namespace", reason: SystemError.text(errno)) }
        defer { close(original) }
        guard enter() == 0 else { throw NetlinkError(operation: what, reason: SystemError.text(errno)) }
        // A pool thread left in a container's namespace would put later work there: never return without this.
        defer { precondition(berth_enter_network_namespace(original) == 0, "could not return to berthd's network namespace") }
        return try body()
    }
}
