import Foundation
import Testing
@testable import HostProbe

struct QEMUFileAccessTests {
    /// A root inside a directory the QEMU user may not search is reported with that directory; the
    /// root itself is berthd's to open up, a cache directory is not.
    @Test func aDirectoryTheUserCannotSearchIsNamed() throws {
        let outer = FileManager.default.temporaryDirectory.path + "/qemu-access-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: outer + "/root", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outer + "/cache", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: outer) }
        chmod(outer, 0o700)
        chmod(outer + "/root", 0o700)
        chmod(outer + "/cache", 0o700)
        let closed = QEMUFileAccess.check(roots: [outer + "/root"], directories: [], user: "nobody")
        #expect(!closed.available && closed.detail.contains("nobody cannot search \(outer) (mode 700)"), "\(closed.detail)")
        chmod(outer, 0o711)
        #expect(QEMUFileAccess.check(roots: [outer + "/root"], directories: [], user: "nobody").available)
        let cache = QEMUFileAccess.check(roots: [outer + "/root"], directories: [outer + "/cache"], user: "nobody")
        #expect(!cache.available && cache.detail.contains("search \(outer)/cache"), "\(cache.detail)")
        chmod(outer + "/cache", 0o755)
        #expect(QEMUFileAccess.check(roots: [outer + "/root"], directories: [outer + "/cache"], user: "nobody").available)
        #expect(QEMUFileAccess.check(roots: [outer + "/root"], directories: [], user: "no-such-user-here").available)
    }

    @Test func ancestorsRunFromTheTop() {
        #expect(QEMUFileAccess.ancestors(of: "/a/b/c", includingItself: false) == ["/", "/a", "/a/b"])
        #expect(QEMUFileAccess.ancestors(of: "/a/b/", includingItself: true) == ["/", "/a", "/a/b"])
    }
}
