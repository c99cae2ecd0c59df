import Foundation
import OCI
import Testing

@Suite struct PlatformTests {
    @Test(arguments: [
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("arm64", "linux/arm64"),
        ("Linux/AMD64", "linux/amd64"),
        ("windows/amd64", "windows/amd64"),
    ])
    func normalisesDockerSpellings(input: String, expected: String) throws {
        #expect(try Platform(parsing: input).description == expected)
    }

    @Test(arguments: ["", "/", "linux/", "linux//v7", "a/b/c/d", "linux/arm 64", "linux/amd64\n"])
    func refusesMalformedPlatforms(input: String) {
        #expect(throws: PlatformError.malformed(input)) { try Platform(parsing: input) }
    }

    /// Docker's rule for a single word: an OS name means this machine's architecture for that OS.
    @Test func aBareOperatingSystemIsThisMachinesArchitecture() throws {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let here = Platform.host(machine: machine)
        #expect(try Platform(parsing: "linux") == here)
        #expect(try Platform(parsing: "Linux") == here)
        #expect(try Platform(parsing: "windows").os == "windows")
        #expect(try Platform(parsing: "windows").architecture == here.architecture)
        #expect(try Platform(parsing: "riscv64") == Platform(os: "linux", architecture: "riscv64"))
    }

    @Test func sameMeaningComparesEqual() throws {
        #expect(try Platform(parsing: "linux/aarch64") == Platform(os: "linux", architecture: "arm64"))
        #expect(try Platform(parsing: "linux/arm/v7") != Platform(parsing: "linux/arm/v6"))
    }

    @Test func unameNames() throws {
        #expect(try Platform(parsing: "linux/arm64").unameMachine == "aarch64")
        #expect(try Platform(parsing: "linux/arm/v7").unameMachine == "armv7l")
        #expect(Platform.host(machine: "x86_64").description == "linux/amd64")
    }
}
