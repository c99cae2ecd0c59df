import Foundation
import SystemSupport

/// A unix stream socket bound and listening, made here rather than by the transport so that it
/// never exists, even for an instant, with a mode wider than asked.
enum ListeningSocket {
    static func bind(path: String, mode: mode_t) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw CRIServerError("socket path longer than \(capacity - 1) bytes: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            bytes.copyBytes(from: path.utf8)
            bytes[path.utf8.count] = 0
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw CRIServerError("socket: \(SystemError.text(errno))") }
        var bound = false
        defer { if !bound { close(descriptor) } }
        // A socket left by a daemon that died is replaced; the caller checked nobody serves it.
        unlink(path)
        // The socket file takes the umask's mode at bind; tighten it so it is never wider than `mode`.
        let previousMask = umask(~mode & 0o777)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let bindError = errno
        umask(previousMask)
        guard result == 0 else { throw CRIServerError("binding \(path): \(SystemError.text(bindError))") }
        guard chmod(path, mode) == 0 else { throw CRIServerError("chmod \(path): \(SystemError.text(errno))") }
        guard listen(descriptor, 256) == 0 else { throw CRIServerError("listening on \(path): \(SystemError.text(errno))") }
        bound = true
        return descriptor
    }
}

/// The CRI socket could not be served.
public struct CRIServerError: Error, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
