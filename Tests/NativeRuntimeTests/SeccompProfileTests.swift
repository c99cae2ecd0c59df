import Foundation
import Testing
@testable import NativeRuntime

struct SeccompProfileTests {
    @Test func compilesToBPFThatDependsOnCapabilities() throws {
        let directory = FileManager.default.temporaryDirectory.path
        let plain = directory + "/plain-\(UUID().uuidString).bpf"
        let admin = directory + "/admin-\(UUID().uuidString).bpf"
        defer { unlink(plain); unlink(admin) }
        try SeccompProfile.default(capabilities: .dockerDefault, architecture: "amd64").writeFilter(to: plain)
        try SeccompProfile.default(capabilities: CapabilitySet.dockerDefault.union([.sysAdmin]), architecture: "amd64")
            .writeFilter(to: admin)
        let plainData = try Data(contentsOf: URL(fileURLWithPath: plain))
        let adminData = try Data(contentsOf: URL(fileURLWithPath: admin))
        // struct sock_filter is 8 bytes; a real policy is hundreds of instructions.
        #expect(plainData.count % 8 == 0 && plainData.count / 8 > 100)
        #expect(plainData != adminData)
    }
}
