import Foundation
import NIOCore
import NIOFoundationCompat

/// A request body written to a temp file as it arrives, for bodies too large to hold in memory.
final class BodySpool {
    let path: String
    private let handle: FileHandle

    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/body-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw APIError.systemCall("create \(path)", errno)
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    func write(_ chunk: ByteBuffer) throws {
        try handle.write(contentsOf: chunk.readableBytesView)
    }

    func finish() throws {
        try handle.close()
    }

    func remove() {
        try? handle.close()
        unlink(path)
    }
}
