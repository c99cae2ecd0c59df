import Foundation

/// Bytes over a unix socket, for requests no well-behaved HTTP client would send.
enum RawSocket {
    /// Connects, sends `request`, optionally half-closes, and reads until EOF or `timeout`.
    static func exchange(_ path: String, _ request: Data, timeout: TimeInterval, shutdownWrite: Bool = false) throws -> Data {
        let descriptor = try connect(path)
        defer { close(descriptor) }
        try send(descriptor, request)
        if shutdownWrite { shutdown(descriptor, Int32(SHUT_WR)) }
        return receive(descriptor, timeout: timeout)
    }

    static func connect(_ path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw TestFailure("connect \(path): errno \(errno)")
        }
        return descriptor
    }

    /// Sends everything; a peer that closes early (EPIPE) ends the send without an error.
    static func send(_ descriptor: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = Foundation.send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    if errno == EPIPE || errno == ECONNRESET { return }
                    throw TestFailure("send: errno \(errno)")
                }
                offset += sent
            }
        }
    }

    static func receive(_ descriptor: Int32, timeout: TimeInterval) -> Data {
        var received = Data()
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, remaining) > 0 else { break }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return received
    }
}
