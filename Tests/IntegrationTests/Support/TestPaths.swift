import Foundation

/// Where the built binaries, the repository and scratch space are.
enum TestPaths {
    /// The test binary lives in the build's bin directory beside berthd and berth.
    static let binDirectory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On Linux the tests run from <bin>/BerthPackageTests.xctest.
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("berthd").path),
              directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.path
    }()

    static var berthd: String { binDirectory + "/berthd" }
    static var berth: String { binDirectory + "/berth" }

    static let repository: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// A fresh directory under /tmp, removed by `removeScratch`.
    static func makeScratch(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "berth-test-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func removeScratch(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The mount points at or below `directory`, in mount order (no escaped characters expected).
    static func mountPoints(under directory: String) -> [String] {
        mountInfo().split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 ? String(fields[4]) : nil
        }.filter { $0 == directory || $0.hasPrefix(directory + "/") }
    }

    /// This process's mount table, read to its end (Foundation's file readers stop at the first
    /// read of a /proc file, cutting a table longer than a page short).
    static func mountInfo() -> String {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/mountinfo") else { return "" }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
