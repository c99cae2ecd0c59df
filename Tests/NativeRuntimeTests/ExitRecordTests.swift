import Foundation
import Testing
@testable import NativeRuntime

struct ExitRecordTests {
    @Test func readsWhatTheShimWrites() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("exit-\(UUID().uuidString)").path
        defer { unlink(file) }
        #expect(ExitRecord.read(file) == nil)
        try "137 1795648974.634985738\n".write(toFile: file, atomically: true, encoding: .utf8)
        let record = ExitRecord.read(file)
        #expect(record?.code == 137 && abs((record?.finishedAt.timeIntervalSince1970 ?? 0) - 1_795_648_974.635) < 0.001)
        #expect(record?.reason == nil)
        try "137 1795648974.634985738 the utility VM stopped while the container ran\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ExitRecord.read(file)?.reason == "the utility VM stopped while the container ran")
        #expect(ExitRecord.read(file)?.oomKilled == false)
        try "137 1795648974.634985738 oom-killed\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ExitRecord.read(file)?.oomKilled == true && ExitRecord.read(file)?.reason == nil)
        try "137 1795648974.634985738 oom-killed the utility VM stopped while the container ran\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ExitRecord.read(file)?.oomKilled == true && ExitRecord.read(file)?.reason == "the utility VM stopped while the container ran")
        try "garbage".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ExitRecord.read(file) == nil)
    }
}
