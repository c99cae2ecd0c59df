import Foundation
import Glibc
import NativeRuntime
import SystemSupport
import Testing
@testable import Engine

/// The pod share's binds on the host (berthd runs as root, as these tests do): where a member's
/// host paths appear, read-only when asked, a link the guest left in the way not followed, and no
/// removal ever reaching through a bind into the host's files.
struct PodShareTests {
    private static func scratch() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pod-share-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory + "/vm", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/host", withIntermediateDirectories: true)
        try "kept\n".write(toFile: directory + "/host/file", atomically: false, encoding: .utf8)
        return directory
    }

    private static func cleanUp(_ directory: String) {
        _ = MountTable.detachAll(under: directory)
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func aMembersHostPathsAppearInTheShareUntilReleased() throws {
        let directory = try Self.scratch()
        defer { Self.cleanUp(directory) }
        let share = PodShare(vmDirectory: directory + "/vm")
        try share.prepare()
        let writable = try share.bind(directory + "/host", member: "abc", index: 0, readOnly: false, propagation: [])
        let readOnly = try share.bind(directory + "/host/file", member: "abc", index: 1, readOnly: true, propagation: .slave)
        #expect(writable == "/pod/share/abc/0" && readOnly == "/pod/share/abc/1")
        #expect(try String(contentsOfFile: share.directory + "/abc/0/file", encoding: .utf8) == "kept\n")
        #expect(try String(contentsOfFile: share.directory + "/abc/1", encoding: .utf8) == "kept\n")
        #expect(FileManager.default.createFile(atPath: share.directory + "/abc/0/new", contents: Data("x".utf8)))
        #expect(FileManager.default.fileExists(atPath: directory + "/host/new"))
        #expect(open(share.directory + "/abc/1", O_WRONLY) == -1 && errno == EROFS)
        #expect(MountTable.mountPoints().contains(share.directory + "/abc/0"))

        share.release(member: "abc")
        #expect(!FileManager.default.fileExists(atPath: share.directory + "/abc"))
        #expect(try String(contentsOfFile: directory + "/host/file", encoding: .utf8) == "kept\n")
        share.releaseAll()
        #expect(MountTable.mountPoints().filter { $0.hasPrefix(directory + "/") }.isEmpty)
    }

    @Test func aLinkInTheShareIsNotFollowed() throws {
        let directory = try Self.scratch()
        defer { Self.cleanUp(directory) }
        let share = PodShare(vmDirectory: directory + "/vm")
        try share.prepare()
        // What a guest could leave where the next member's mount point goes.
        try FileManager.default.createDirectory(atPath: directory + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: share.directory + "/abc", withDestinationPath: directory + "/elsewhere")
        #expect(throws: SystemError.self) {
            try share.bind(directory + "/host", member: "abc", index: 0, readOnly: false, propagation: [])
        }
        #expect(MountTable.mountPoints().filter { $0.hasPrefix(directory + "/elsewhere") }.isEmpty)
    }

    @Test func removingADirectoryNeverReachesThroughABind() throws {
        let directory = try Self.scratch()
        defer { Self.cleanUp(directory) }
        let share = PodShare(vmDirectory: directory + "/vm")
        try share.prepare()
        _ = try share.bind(directory + "/host", member: "abc", index: 0, readOnly: false, propagation: [])
        try MountTable.removeUnmounted(directory + "/vm")
        #expect(!FileManager.default.fileExists(atPath: directory + "/vm"))
        #expect(try String(contentsOfFile: directory + "/host/file", encoding: .utf8) == "kept\n")
    }
}
