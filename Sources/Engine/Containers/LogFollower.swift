import Foundation

/// Follows a container's json-file log (`logs -f`) as the shim writes and rotates it: the open file
/// is read to its end, and when the path names a new file (rotated away by rename) the old one is
/// drained before the new one is read from its start, so a follower that keeps up misses nothing.
/// A log of one file is truncated in place instead; that is seen as the file shrinking.
public final class LogFollower: @unchecked Sendable {
    private let logs: ContainerLogs
    private let options: ContainerLogs.Options
    private var descriptor: Int32 = -1
    private var inode: ino_t = 0
    private var offset: UInt64
    /// The end of the file after its last complete line: written, not yet ended.
    private var partial = Data()

    /// Reads on from `offset` in the current file, where `ContainerLogs.read` stopped.
    public init(_ logs: ContainerLogs, from offset: UInt64, options: ContainerLogs.Options) {
        self.logs = logs
        self.options = options
        self.offset = offset
        openCurrent()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The entries written since the last call.
    public func next() -> [ContainerLogs.Entry] {
        guard descriptor >= 0 || openCurrent() else { return [] }
        var entries = drain()
        var current = stat()
        if stat(logs.path, &current) == 0, current.st_ino != inode {
            // Rotated: the shim writes only to a newer file now; what reached this one first is
            // read, then the next newer one (`path.N`… `path`), so a burst of rotations skips none
            // that still exists.
            entries += drain()
            openSuccessor()
        } else {
            var open = stat()
            if fstat(descriptor, &open) == 0, UInt64(open.st_size) < offset {
                offset = 0
                partial = Data()
                entries += drain()
            }
        }
        return entries
    }

    /// The file written after the open one: the next in `path.N`, …, `path.1`, `path`, or the
    /// oldest still there when the open one was rotated away (its lines are gone).
    private func openSuccessor() {
        var chain: [(path: String, inode: ino_t)] = []
        var index = 1
        var info = stat()
        while stat("\(logs.path).\(index)", &info) == 0 {
            chain.insert(("\(logs.path).\(index)", info.st_ino), at: 0)
            index += 1
        }
        if stat(logs.path, &info) == 0 { chain.append((logs.path, info.st_ino)) }
        let next = chain.firstIndex { $0.inode == inode }.map { chain.index(after: $0) } ?? chain.startIndex
        close(descriptor)
        descriptor = -1
        offset = 0
        partial = Data()
        guard next < chain.endIndex else { openCurrent(); return }
        descriptor = open(chain[next].path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { openCurrent(); return }
        fstat(descriptor, &info)
        inode = info.st_ino
    }

    @discardableResult
    private func openCurrent() -> Bool {
        descriptor = open(logs.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        var info = stat()
        fstat(descriptor, &info)
        inode = info.st_ino
        return true
    }

    /// Complete lines from `offset` to the end of the open file, at most 8 MiB a call.
    private func drain() -> [ContainerLogs.Entry] {
        var data = partial
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while data.count < 8 << 20 {
            let count = pread(descriptor, &buffer, buffer.count, off_t(offset))
            guard count > 0 else { break }
            data.append(contentsOf: buffer[..<count])
            offset += UInt64(count)
        }
        guard let last = data.lastIndex(of: UInt8(ascii: "\n")) else {
            partial = data
            return []
        }
        partial = Data(data[(last + 1)...])
        return logs.parse(Data(data[...last]), options)
    }
}
