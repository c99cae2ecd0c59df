import Foundation
import VMRuntime

/// The tests' client of a guest agent's port, the unix socket QEMU (or libvirt) binds for the
/// virtio-serial channel (berthd's own client is the shim's, in C). Blocking.
final class AgentChannel {
    private var fd: Int32
    private var reader = AgentFrameReader()

    /// Connects to `socketPath`, waiting up to `timeout` for QEMU to create it.
    init(socketPath: String, timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let candidate = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard candidate >= 0 else { throw AgentChannelError.system("socket", errno) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let path = Array(socketPath.utf8)
            guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { throw AgentChannelError.pathTooLong(socketPath) }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(candidate, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if connected == 0 {
                fd = candidate
                return
            }
            let failure = errno
            Glibc.close(candidate)
            guard Date() < deadline, failure == ENOENT || failure == ECONNREFUSED else {
                throw AgentChannelError.system("connecting to \(socketPath)", failure)
            }
            usleep(20_000)
        }
    }

    deinit { close() }

    /// Lets go of the port (QEMU serves one client at a time) so another client can connect.
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func send(_ frame: AgentFrame) throws {
        let bytes = frame.encoded()
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw AgentChannelError.system("writing to the agent", errno) }
            offset += written
        }
    }

    /// The next frame, or nil when `timeout` passes first; throws when the agent's side closes.
    func receive(timeout: TimeInterval) throws -> AgentFrame? {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let frame = reader.next() { return frame }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let polled = poll(&ready, 1, Int32(min(left * 1000 + 1, 60_000)))
            if polled < 0 && errno == EINTR { continue }
            guard polled > 0 else { continue }
            let count = buffer.withUnsafeMutableBufferPointer { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw AgentChannelError.closed }
            reader.append(buffer[0..<count])
        }
    }
}

enum AgentChannelError: Error, CustomStringConvertible, Equatable {
    case system(String, Int32)
    case pathTooLong(String)
    case closed

    var description: String {
        switch self {
        case .system(let operation, let code): return "\(operation): \(String(cString: strerror(code)))"
        case .pathTooLong(let path): return "socket path too long: \(path)"
        case .closed: return "the guest agent closed its port"
        }
    }
}
