import Foundation
import Testing
@testable import VMRuntime

struct GuestKernelTests {
    func cache() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-kernels-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path + "/vm-images/x86_64-aaa/stock/6.1.0-9-cloud-amd64", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: path + "/vm-images/x86_64-aaa/stock/6.1.0-10-cloud-amd64", withIntermediateDirectories: true)
        for file in ["vm-images/x86_64-aaa/initramfs.cpio", "vm-images/x86_64-aaa/stock/6.1.0-9-cloud-amd64/kernel",
                     "vm-images/x86_64-aaa/stock/6.1.0-10-cloud-amd64/kernel"] {
            FileManager.default.createFile(atPath: path + "/" + file, contents: Data())
        }
        return path
    }

    @Test func fallsBackToTheNewestStockKernel() throws {
        let path = try cache()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let chosen = GuestKernel.select(architecture: "x86_64", cacheDirectory: path)
        #expect(chosen?.origin == .stock)
        #expect(chosen?.release == "6.1.0-10-cloud-amd64", "numeric order, not text order")
        #expect(chosen?.initramfs.hasSuffix("stock/6.1.0-10-cloud-amd64/initramfs.cpio") == true)
    }

    @Test func prefersTheMinimalKernelOnceBuilt() throws {
        let path = try cache()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.createDirectory(atPath: path + "/guest-kernels/x86_64-bbb", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path + "/guest-kernels/x86_64-bbb/kernel", contents: Data())
        try "6.1.176\n".write(toFile: path + "/guest-kernels/x86_64-bbb/release", atomically: true, encoding: .utf8)
        let chosen = GuestKernel.select(architecture: "x86_64", cacheDirectory: path)
        #expect(chosen == GuestKernel(kernel: path + "/guest-kernels/x86_64-bbb/kernel",
                                      initramfs: path + "/vm-images/x86_64-aaa/initramfs.cpio", release: "6.1.176", origin: .minimal))
    }

    @Test func reportsNothingWithoutAnAgent() throws {
        let path = try cache()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(GuestKernel.select(architecture: "arm64", cacheDirectory: path) == nil)
        try FileManager.default.removeItem(atPath: path + "/vm-images")
        #expect(GuestKernel.select(architecture: "x86_64", cacheDirectory: path) == nil)
    }
}
