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

    /// A utility VM's guest gets the same policy for its own architecture's calls: the filter
    /// checks the guest's audit architectures and no other.
    @Test(arguments: [("amd64", [0xC000_003E, 0x4000_0003], [0xC000_00B7]),
                      ("arm64", [0xC000_00B7, 0x4000_0028], [0xC000_003E]),
                      ("arm", [0x4000_0028], [0xC000_003E, 0xC000_00B7])])
    func compilesForTheArchitectureAsked(architecture: String, checked: [UInt32], absent: [UInt32]) throws {
        let path = FileManager.default.temporaryDirectory.path + "/\(architecture)-\(UUID().uuidString).bpf"
        defer { unlink(path) }
        try SeccompProfile.default(capabilities: .dockerDefault, architecture: architecture).writeFilter(to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        // struct sock_filter: u16 code, u8 jt, u8 jf, u32 k; BPF_JMP|BPF_JEQ|BPF_K compares k.
        let compared = Set(stride(from: 0, to: data.count, by: 8).compactMap { offset -> UInt32? in
            let code = UInt16(data[offset]) | UInt16(data[offset + 1]) << 8
            guard code == 0x15 else { return nil }
            return (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[offset + 4 + $1]) << (8 * $1) }
        })
        for value in checked { #expect(compared.contains(value), "\(architecture) filter checks \(String(value, radix: 16))") }
        for value in absent { #expect(!compared.contains(value), "\(architecture) filter leaves out \(String(value, radix: 16))") }
    }

    @Test func refusesAnArchitectureItHasNoNamesFor() {
        #expect(throws: SeccompError.self) {
            try SeccompProfile.default(capabilities: .dockerDefault, architecture: "mips64").writeFilter(to: "/nonexistent/filter")
        }
    }
}
