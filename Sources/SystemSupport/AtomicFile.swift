import Foundation

/// Crash-safe file replacement: write a temp file beside the target, fsync it, rename it over the
/// target, fsync the directory. A reader sees the old content or the new, never a torn file.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, permissions: mode_t = 0o644) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard descriptor >= 0 else { throw SystemError.call("open \(temporary)", errno) }
        do {
            try data.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw SystemError.call("write \(temporary)", errno)
                    }
                    offset += written
                }
            }
            guard fsync(descriptor) == 0 else { throw SystemError.call("fsync \(temporary)", errno) }
            close(descriptor)
            guard rename(temporary, path) == 0 else { throw SystemError.call("rename \(temporary)", errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// Makes a rename or create in `directory` durable.
    public static func syncDirectory(_ directory: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError.call("open \(directory)", errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw SystemError.call("fsync \(directory)", errno) }
    }
}
