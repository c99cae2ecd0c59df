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

    /// Docker's format: the default action, rules with their errno and argument conditions, and
    /// rules kept or dropped by the container's capabilities and architecture.
    @Test func readsDockersProfileFormat() throws {
        let json = Data("""
            {"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1, "syscalls": [
              {"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"},
              {"name": "chmod", "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
              {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
              {"names": ["mount"], "action": "SCMP_ACT_KILL_PROCESS", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
              {"names": ["umount2"], "action": "SCMP_ACT_LOG", "includes": {"arches": ["arm64"]}}
            ]}
            """.utf8)
        let plain = try SeccompProfile.docker(json, capabilities: .dockerDefault, architecture: "amd64")
        #expect(plain.defaultAction == .allow)
        #expect(plain.rules.map(\.names) == [["sethostname"], ["chmod"], ["personality"], ["mount"]])
        #expect(plain.rules.map(\.action) == [.errno(EPERM), .errno(EACCES), .errno(EPERM), .killProcess])
        #expect(plain.rules[2].arguments.count == 1 && plain.rules[2].arguments[0].index == 0)
        let admin = try SeccompProfile.docker(json, capabilities: CapabilitySet.dockerDefault.union([.sysAdmin]), architecture: "arm64")
        #expect(admin.rules.map(\.names) == [["sethostname"], ["chmod"], ["personality"], ["umount2"]])
        let path = FileManager.default.temporaryDirectory.path + "/docker-\(UUID().uuidString).bpf"
        defer { unlink(path) }
        try plain.writeFilter(to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count % 8 == 0)

        for bad in [#"{"syscalls": []}"#, #"{"defaultAction": "SCMP_ACT_NOTIFY"}"#,
                    #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
                    #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]}"#] {
            #expect(throws: SeccompError.self) { try SeccompProfile.docker(Data(bad.utf8), capabilities: .dockerDefault, architecture: "amd64") }
        }
    }

    @Test func refusesAnArchitectureItHasNoNamesFor() {
        #expect(throws: SeccompError.self) {
            try SeccompProfile.default(capabilities: .dockerDefault, architecture: "mips64").writeFilter(to: "/nonexistent/filter")
        }
    }
}
