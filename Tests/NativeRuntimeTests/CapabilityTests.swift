import Foundation
import Testing
@testable import NativeRuntime

struct CapabilityTests {
    @Test func dockersDefaultSetIsTheKnownMask() {
        #expect(CapabilitySet.dockerDefault.rawValue == 0xa804_25fb)
        #expect(CapabilitySet.dockerDefault.capabilities.count == 14)
    }

    @Test func addAndDropFollowDocker() throws {
        let added = try CapabilitySet.adjusting(.dockerDefault, add: ["NET_ADMIN"], drop: ["CAP_MKNOD", "chown"])
        #expect(added.contains(.netAdmin) && !added.contains(.mknod) && !added.contains(.chown))
        let onlyOne = try CapabilitySet.adjusting(.dockerDefault, add: ["NET_BIND_SERVICE"], drop: ["ALL"])
        #expect(onlyOne == CapabilitySet([.netBindService]))
        let all = try CapabilitySet.adjusting(.dockerDefault, add: ["ALL"], drop: ["SYS_ADMIN"])
        #expect(all.contains(.sysPtrace) && !all.contains(.sysAdmin))
        #expect(throws: CapabilityError.self) { try CapabilitySet.adjusting(.dockerDefault, add: ["FLY"], drop: []) }
    }

    @Test func boundingSetIsReadFromStatus() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("status-\(UUID().uuidString)").path
        defer { unlink(file) }
        try "Name:\tx\nCapBnd:\t000001fffeffffff\n".write(toFile: file, atomically: true, encoding: .utf8)
        let set = CapabilitySet.processBounding(statusPath: file)
        #expect(!set.contains(.sysResource) && set.contains(.sysAdmin) && set.contains(.checkpointRestore))
    }
}
