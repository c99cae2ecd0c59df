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

struct GuestKernelChoiceTests {
    /// A file with a kernel format's header bytes at their offsets, and a banner somewhere after.
    static func image(_ bytes: [Int: [UInt8]], banner: String? = nil, size: Int = 8192) -> Data {
        var contents = [UInt8](repeating: 0, count: size)
        for (offset, value) in bytes { contents.replaceSubrange(offset..<offset + value.count, with: value) }
        if let banner { contents += Array("\0Linux version \(banner) (builder@host) #1 SMP\0".utf8) }
        return Data(contents)
    }

    static let arm64Image = image([0x38: Array("ARM\u{64}".utf8)], banner: "6.1.0-57-cloud-arm64")
    static let x86BzImage = image([0x1fe: [0x55, 0xaa], 0x202: Array("HdrS".utf8), 0x20e: [0x00, 0x02],
                                   0x400: Array("6.1.0-57-cloud-amd64 (debian-kernel@host) #1\0".utf8)])
    static let armZImage = image([0x24: [0x18, 0x28, 0x6f, 0x01]])
    static let x86ELF = image([0: [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0x12: [62, 0]], banner: "6.1.176")

    func write(_ data: Data, _ name: String, in directory: String) -> String {
        FileManager.default.createFile(atPath: directory + "/" + name, contents: data)
        return directory + "/" + name
    }

    @Test func kernelImagesSayTheirArchitectureAndRelease() throws {
        let directory = try GuestKernelTests().cache()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(KernelImage(path: write(Self.x86BzImage, "bz", in: directory)) == KernelImage(architecture: "x86_64", release: "6.1.0-57-cloud-amd64"))
        #expect(KernelImage(path: write(Self.arm64Image, "img", in: directory)) == KernelImage(architecture: "arm64", release: "6.1.0-57-cloud-arm64"))
        #expect(KernelImage(path: write(Self.armZImage, "z", in: directory)) == KernelImage(architecture: "arm", release: nil))
        #expect(KernelImage(path: write(Self.x86ELF, "elf", in: directory)) == KernelImage(architecture: "x86_64", release: "6.1.176"))
        #expect(KernelImage(path: write(Data("#!/bin/sh\necho not a kernel\n".utf8) + Data(count: 100), "script", in: directory)) == nil)
        let gzipped = write(Self.arm64Image, "vmlinuz", in: directory)
        _ = try Process.run(URL(fileURLWithPath: "/bin/gzip"), arguments: ["-n", gzipped]).waitUntilExit()
        #expect(KernelImage(path: gzipped + ".gz") == KernelImage(architecture: "arm64", release: nil))
    }

    @Test func aKernelIsChosenByNameReleaseOrPath() throws {
        let cache = try GuestKernelTests().cache()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        #expect(try GuestKernel.chosen("stock", architecture: "x86_64", cacheDirectory: cache).release == "6.1.0-10-cloud-amd64")
        #expect(try GuestKernel.chosen("6.1.0-9-cloud-amd64", architecture: "x86_64", cacheDirectory: cache).origin == .stock)
        let noMinimal = #expect(throws: GuestKernelChoiceError.self) { try GuestKernel.chosen("minimal", architecture: "x86_64", cacheDirectory: cache) }
        #expect(noMinimal?.description == "no guest kernel minimal for x86_64 VMs: use stock, 6.1.0-9-cloud-amd64, 6.1.0-10-cloud-amd64 "
            + "or the absolute path of a kernel image")

        let bzImage = write(Self.x86BzImage, "bzImage", in: cache)
        let custom = try GuestKernel.chosen(bzImage, architecture: "x86_64", cacheDirectory: cache)
        #expect(custom == GuestKernel(kernel: bzImage, initramfs: cache + "/vm-images/x86_64-aaa/initramfs.cpio",
                                      release: "6.1.0-57-cloud-amd64", origin: .custom))
        let foreign = #expect(throws: GuestKernelChoiceError.self) {
            try GuestKernel.chosen(write(Self.arm64Image, "Image", in: cache), architecture: "x86_64", cacheDirectory: cache)
        }
        #expect(foreign?.description == "guest kernel \(cache)/Image is for arm64, not for the x86_64 VM this container runs in")
        let missing = #expect(throws: GuestKernelChoiceError.self) { try GuestKernel.chosen(cache + "/none", architecture: "x86_64", cacheDirectory: cache) }
        #expect(missing?.description == "guest kernel \(cache)/none: no such file or directory")
        #expect(throws: GuestKernelChoiceError.self) { try GuestKernel.chosen(cache, architecture: "x86_64", cacheDirectory: cache) }
        // A path is booted with the agent's initramfs, which needs vm-images/build for that architecture.
        let noAgent = #expect(throws: GuestKernelChoiceError.self) {
            try GuestKernel.chosen(write(Self.arm64Image, "Image2", in: cache), architecture: "arm64", cacheDirectory: cache)
        }
        #expect(noAgent?.description == "no guest agent for arm64 VMs: run `vm-images/build arm64`")
    }
}
