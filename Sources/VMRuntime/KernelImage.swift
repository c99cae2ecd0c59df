import Foundation

/// What a kernel image's own headers say: the architecture it boots on and, where the image is not
/// compressed, its release (from the `Linux version` banner). Read before QEMU is asked to boot
/// it, so a wrong file is refused with a reason rather than a VM that never answers.
public struct KernelImage: Sendable, Equatable {
    /// The kernel's name for it: `x86_64`, `arm64` or `arm`.
    public var architecture: String
    public var release: String?

    /// nil when the file is none of the formats QEMU's `-kernel` takes for these machines: an x86
    /// bzImage, an arm64 Image (also gzip-compressed), an arm zImage or an ELF vmlinux.
    public init?(path: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 4096), head.count >= 64 else { return nil }
        let bytes = [UInt8](head)
        if bytes[0] == 0x1f, bytes[1] == 0x8b {
            // Debian's arm64 vmlinuz: a gzip-compressed Image, which QEMU inflates itself.
            guard let inflated = Self.inflatedHead(path), Self.isARM64Image(inflated) else { return nil }
            self.init(architecture: "arm64", release: nil)
            return
        }
        // The banner is somewhere in an uncompressed image's data: read the rest only for those.
        func contents() -> Data { (try? handle.readToEnd()).map { head + $0 } ?? head }
        if bytes.count >= 0x210, Array(bytes[0x202..<0x206]) == Array("HdrS".utf8) {
            // A bzImage's setup header points at its version string (offset + 0x200), release first.
            let offset = Int(Self.little(bytes, at: 0x20e, count: 2))
            var release: String?
            if offset > 0, offset + 0x200 < bytes.count {
                let text = bytes[(offset + 0x200)...].prefix { $0 != 0 && $0 != UInt8(ascii: " ") }
                release = String(decoding: text, as: UTF8.self)
            }
            self.init(architecture: "x86_64", release: release)
        } else if Self.isARM64Image(bytes) {
            self.init(architecture: "arm64", release: Self.banner(in: contents()))
        } else if Self.little(bytes, at: 0x24, count: 4) == 0x016f_2818 {
            self.init(architecture: "arm", release: nil)
        } else if Array(bytes[0..<4]) == [0x7f, 0x45, 0x4c, 0x46] {
            // ELF: e_machine after the identification bytes and e_type.
            let architectures: [UInt64: String] = [62: "x86_64", 183: "arm64", 40: "arm"]
            guard let architecture = architectures[Self.little(bytes, at: 0x12, count: 2)] else { return nil }
            self.init(architecture: architecture, release: Self.banner(in: contents()))
        } else {
            return nil
        }
    }

    public init(architecture: String, release: String?) {
        self.architecture = architecture
        self.release = release
    }

    /// The arm64 boot protocol's magic, "ARM\x64" at 0x38.
    static func isARM64Image(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 0x3c && little(bytes, at: 0x38, count: 4) == 0x644d_5241
    }

    static func little(_ bytes: [UInt8], at offset: Int, count: Int) -> UInt64 {
        (0..<count).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    /// The release in the kernel's `Linux version RELEASE (` banner.
    static func banner(in contents: Data) -> String? {
        guard let found = contents.range(of: Data("Linux version ".utf8)) else { return nil }
        let text = contents[found.upperBound...].prefix(80).prefix { $0 != 0 && $0 != UInt8(ascii: " ") }
        return text.isEmpty ? nil : String(decoding: text, as: UTF8.self)
    }

    /// The first bytes of a gzip file, inflated by gzip (a child process, exec'd).
    static func inflatedHead(_ path: String) -> [UInt8]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        var head = Data()
        while head.count < 64, let chunk = try? output.fileHandleForReading.read(upToCount: 64 - head.count), !chunk.isEmpty {
            head += chunk
        }
        // The rest is not needed: gzip ends on the closed pipe.
        try? output.fileHandleForReading.close()
        process.waitUntilExit()
        return head.count == 64 ? [UInt8](head) : nil
    }
}
