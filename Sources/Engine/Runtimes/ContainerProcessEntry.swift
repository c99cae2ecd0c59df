/// One of a container's processes as `top` lists it: the host's view of a native container's, the
/// guest's of a VM container's.
public struct ContainerProcessEntry: Sendable, Equatable {
    public var uid: UInt32
    public var pid: Int32
    public var parentPID: Int32
    /// User and system time, in clock ticks.
    public var cpuTicks: Int
    public var command: String

    public init(uid: UInt32, pid: Int32, parentPID: Int32, cpuTicks: Int, command: String) {
        self.uid = uid
        self.pid = pid
        self.parentPID = parentPID
        self.cpuTicks = cpuTicks
        self.command = command
    }

    /// From a `/proc/PID/stat` line, the process's owner and its command line; nil when the line
    /// is cut short.
    public init?(stat: String, uid: UInt32, command: String) {
        // The fields follow the command name, which may hold spaces and parentheses of its own.
        guard let open = stat.firstIndex(of: " "), let pid = Int32(stat[..<open]), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let parent = Int32(fields[1]) else { return nil }
        self.init(uid: uid, pid: pid, parentPID: parent, cpuTicks: (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0), command: command)
    }

    /// Lines of the guest agent's `processes` builtin: "UID STAT", a tab, and the command line.
    public static func parseGuestList(_ text: String) -> [ContainerProcessEntry] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard let space = parts[0].firstIndex(of: " "), let uid = UInt32(parts[0][..<space]) else { return nil }
            return ContainerProcessEntry(stat: String(parts[0][parts[0].index(after: space)...]), uid: uid,
                                         command: parts.count > 1 ? String(parts[1]) : "")
        }
    }
}
