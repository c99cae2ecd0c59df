import Foundation
import HostModel
import HostProbe
import OCI
import Testing

@Suite struct BinfmtScannerTests {
    @Test func parsesAQemuUserEntry() {
        let entry = """
            enabled
            interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
            flags: PF
            offset 0
            magic 7f454c460201010000000000000000000200b700
            mask ffffffffffffff00fffffffffffffffffeffffff
            """
        let handler = BinfmtScanner.parse(name: "qemu-aarch64", entry: entry)
        #expect(handler.enabled)
        #expect(handler.flags == "PF")
        #expect(handler.worksInContainers)
        #expect(handler.platform == Platform(os: "linux", architecture: "arm64"))
        #expect(handler.interpreter == "/usr/libexec/qemu-binfmt/aarch64-binfmt-P")
    }

    @Test func disabledOrFlaglessHandlersDoNotWorkInContainers() {
        let disabled = BinfmtScanner.parse(name: "qemu-arm", entry: "disabled\ninterpreter /x\nflags: F\n")
        #expect(!disabled.worksInContainers)
        #expect(disabled.platform?.description == "linux/arm/v7")
        let noFix = BinfmtScanner.parse(name: "qemu-riscv64", entry: "enabled\ninterpreter /x\nflags: P\n")
        #expect(!noFix.worksInContainers)
        #expect(BinfmtScanner.parse(name: "python3.11", entry: "enabled\n").platform == nil)
    }

    @Test func scansADirectoryLikeBinfmtMisc() throws {
        let directory = NSTemporaryDirectory() + "binfmt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(!BinfmtScanner.scan(directory: directory).mounted)
        try "".write(toFile: directory + "/register", atomically: true, encoding: .utf8)
        try "enabled\n".write(toFile: directory + "/status", atomically: true, encoding: .utf8)
        try "enabled\ninterpreter /q\nflags: F\n".write(toFile: directory + "/qemu-s390x", atomically: true, encoding: .utf8)
        let report = BinfmtScanner.scan(directory: directory)
        #expect(report.mounted)
        #expect(report.handlers.map(\.name) == ["qemu-s390x"])
    }
}
