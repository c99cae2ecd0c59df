import Foundation
import Testing
@testable import NativeRuntime

struct ImageUserTests {
    func layers() throws -> [String] {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("layers-\(UUID().uuidString)").path
        for layer in ["top/etc", "base/etc"] {
            try FileManager.default.createDirectory(atPath: root + "/" + layer, withIntermediateDirectories: true)
        }
        try "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n".write(toFile: root + "/base/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\napp:x:1000:\nstaff:x:50:app\nvideo:x:44:app,other\n".write(toFile: root + "/base/etc/group", atomically: true, encoding: .utf8)
        return [root + "/top", root + "/base"]
    }

    @Test func resolvesNamesNumbersAndGroups() throws {
        let layers = try layers()
        defer { try? FileManager.default.removeItem(atPath: (layers[0] as NSString).deletingLastPathComponent) }
        #expect(try ImageUser.resolve("", layers: layers) == ImageUser(uid: 0, gid: 0, home: "/root"))
        let app = try ImageUser.resolve("app", layers: layers)
        #expect(app.uid == 1000 && app.gid == 1000 && app.home == "/home/app" && Set(app.additionalGroups) == [50, 44])
        #expect(try ImageUser.resolve("1000:staff", layers: layers).gid == 50)
        #expect(try ImageUser.resolve("4242:4343", layers: layers) == ImageUser(uid: 4242, gid: 4343))
        #expect(try ImageUser.resolve("app", groupAdd: ["video", "7"], layers: layers).additionalGroups.suffix(2) == [44, 7])
        #expect(throws: ImageUserError.self) { try ImageUser.resolve("nobody-here", layers: layers) }
        #expect(throws: ImageUserError.self) { try ImageUser.resolve("app:no-group", layers: layers) }
    }

    @Test func aWhiteoutHidesTheFileBelow() throws {
        let layers = try layers()
        defer { try? FileManager.default.removeItem(atPath: (layers[0] as NSString).deletingLastPathComponent) }
        #expect(mknod(layers[0] + "/etc/passwd", S_IFCHR | 0o600, 0) == 0)
        #expect(LayeredFile.read("/etc/passwd", layers: layers) == nil)
        #expect(LayeredFile.read("/etc/group", layers: layers)?.contains("staff") == true)
    }
}
