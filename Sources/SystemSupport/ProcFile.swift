import Foundation

/// A file of /proc or /sys read whole. Foundation's readers size their read by the file's length,
/// which is 0 for these, and take only what the first read gives: a mountinfo longer than a page
/// came back cut short, hiding the last mounts from whoever looked for them.
public enum ProcFile {
    /// The file's text, read to its end; nil when it cannot be opened.
    public static func text(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
