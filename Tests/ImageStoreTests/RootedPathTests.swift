import Foundation
import ImageStore
import Testing

/// Paths a container or an image controls, resolved by `RootedFiles.resolve` and walked by
/// `DirectoryWalk`: their symlinks are the root's, never the host's.
@Suite final class RootedPathTests {
    let scratch: String
    let root: String

    init() throws {
        scratch = NSTemporaryDirectory() + "rooted-\(UUID().uuidString)"
        root = scratch + "/root"
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/run/sub", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: scratch + "/outside", withIntermediateDirectories: true)
        try "outside\n".write(toFile: scratch + "/outside/secret", atomically: true, encoding: .utf8)
        try manager.createSymbolicLink(atPath: root + "/var-run", withDestinationPath: "/run")
        try manager.createSymbolicLink(atPath: root + "/up", withDestinationPath: "../../../../../run")
        // Names the host's directory: inside the root it is only a missing path.
        try manager.createSymbolicLink(atPath: root + "/host", withDestinationPath: scratch + "/outside")
        try manager.createSymbolicLink(atPath: root + "/run/sub/loop", withDestinationPath: "loop")
    }

    deinit { try? FileManager.default.removeItem(atPath: scratch) }

    func resolve(_ path: String, followingLast: Bool) throws -> String {
        let fd = open(root, RootedFiles.rootOpenFlags)
        #expect(fd >= 0)
        defer { close(fd) }
        return try RootedFiles(rootFD: fd).resolve(path, followingLast: followingLast)
    }

    @Test func symlinksResolveInsideTheRoot() throws {
        #expect(try resolve("/var-run/sub/new/file", followingLast: false) == "/run/sub/new/file")
        #expect(try resolve("/up/sub", followingLast: true) == "/run/sub")
        #expect(try resolve("/var-run", followingLast: false) == "/var-run")
        #expect(try resolve("/var-run", followingLast: true) == "/run")
        #expect(try resolve("/host/secret", followingLast: false) == scratch + "/outside/secret")
        #expect(!FileManager.default.fileExists(atPath: root + scratch + "/outside"), "resolving made nothing")
        #expect(try resolve("/", followingLast: true) == "/")
        #expect(try resolve("/missing/a/../b", followingLast: true) == "/missing/b")
        #expect(throws: RootedFilesError.self) { try self.resolve("/run/sub/loop/x", followingLast: true) }
    }

    @Test func aWalkReportsSymlinksAndNeverFollowsThem() throws {
        var seen: [String: String] = [:]
        try DirectoryWalk.visit(root) { entry in
            let type = entry.info.st_mode & S_IFMT
            seen[entry.path] = type == S_IFLNK ? "-> " + (try entry.linkTarget()) : type == S_IFDIR ? "dir" : "file"
        }
        #expect(seen == ["run": "dir", "run/sub": "dir", "run/sub/loop": "-> loop", "var-run": "-> /run",
                         "up": "-> ../../../../../run", "host": "-> \(scratch)/outside"])
        // Not a lower layer's path through its symlink, nor the host's file through one; the symlink itself is.
        #expect(DirectoryWalk.existing(["/run/sub", "/var-run/sub", "/host/secret", "/host"], in: root) == ["/run/sub", "/host"])
    }
}
