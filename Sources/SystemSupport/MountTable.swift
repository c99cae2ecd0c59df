import Foundation

/// This process's mount points, as /proc/self/mountinfo lists them (parents before children).
public enum MountTable {
    /// The mount points of `mountInfo` (by default, this process's own table).
    public static func mountPoints(mountInfo: String? = nil) -> [String] {
        let table = mountInfo ?? ProcFile.text("/proc/self/mountinfo") ?? ""
        return table.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 ? unescaped(String(fields[4])) : nil
        }
    }

    /// Detaches every mount at or below `directory`, deepest first, so that removing the directory
    /// cannot reach into a host path bound there. Returns the mount points still there after.
    @discardableResult
    public static func detachAll(under directory: String) -> [String] {
        func below() -> [String] { mountPoints().filter { $0 == directory || $0.hasPrefix(directory + "/") } }
        // Children were mounted after their parents: the table's end first.
        for point in below().reversed() { umount2(point, Int32(MNT_DETACH)) }
        return below()
    }

    /// Removes `directory` and what is in it once no mount is left at or below it; else leaves it.
    public static func removeUnmounted(_ directory: String) throws {
        let left = detachAll(under: directory)
        guard left.isEmpty else { throw SystemError.call("removing \(directory): \(left[0]) is still mounted", EBUSY) }
        guard FileManager.default.fileExists(atPath: directory) else { return }
        try FileManager.default.removeItem(atPath: directory)
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes.
    static func unescaped(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3, let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
