import CLinux
import Glibc
import SystemSupport

/// A connected unix stream socket with deadlines on every read: QEMU's monitor and the agent's
/// port, spoken to by berthd itself while it makes and clones templates.
final class UnixStream {
    private let descriptor: Int32

    /// Connects to `path`, trying again while the listener is not there yet, until `deadline`.
    init(path: String, deadline: ContinuousClock.Instant) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw QEMUError.failed("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        while true {
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { throw QEMUError.failed("making a socket: \(SystemError.text(errno))") }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if connected == 0 {
                self.descriptor = descriptor
                return
            }
            let reason = errno
            close(descriptor)
            guard (reason == ENOENT || reason == ECONNREFUSED), ContinuousClock.now < deadline else {
                throw QEMUError.failed("connecting to \(path): \(SystemError.text(reason))")
            }
            usleep(5_000)
        }
    }

    deinit { close(descriptor) }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBufferPointer { send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw QEMUError.failed("writing to QEMU: \(SystemError.text(errno))") }
            offset += written
        }
    }

    /// Writes `bytes` with `descriptor` attached, for the peer to take as its own (SCM_RIGHTS).
    func write(_ bytes: [UInt8], passing descriptor: Int32) throws {
        var sent = 0
        repeat {
            sent = bytes.withUnsafeBytes { berth_send_with_descriptor(self.descriptor, $0.baseAddress, $0.count, descriptor) }
        } while sent < 0 && errno == EINTR
        guard sent >= 0 else { throw QEMUError.failed("passing a descriptor to QEMU: \(SystemError.text(errno))") }
        if sent < bytes.count { try write(Array(bytes[sent...])) }
    }

    /// Some bytes, or none at end of stream; throws once `deadline` passes.
    func read(deadline: ContinuousClock.Instant) throws -> [UInt8] {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw QEMUError.timedOut }
            var watched = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000))
            let ready = poll(&watched, 1, milliseconds)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw QEMUError.failed("reading from QEMU: \(SystemError.text(errno))") }
            return Array(buffer[0..<count])
        }
    }
}
