import Foundation

/// Resolves Docker's `--user` (`name`, `uid`, `name:group`, `uid:gid`) against the image's own
/// /etc/passwd and /etc/group, read through its layers without mounting them.
public struct ImageUser: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGroups: [UInt32]
    /// From passwd, for `HOME` when the image does not set it.
    public var home: String

    public init(uid: UInt32, gid: UInt32, additionalGroups: [UInt32] = [], home: String = "/") {
        self.uid = uid
        self.gid = gid
        self.additionalGroups = additionalGroups
        self.home = home
    }

    /// `layers` are snapshot directories, top layer first.
    public static func resolve(_ user: String, groupAdd: [String] = [], layers: [String]) throws -> ImageUser {
        let passwd = LayeredFile.read("/etc/passwd", layers: layers).map(parseEntries) ?? []
        let groups = LayeredFile.read("/etc/group", layers: layers).map(parseEntries) ?? []
        let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        // No user is root, with root's home and groups from the image.
        let userPart = parts.first.flatMap { $0.isEmpty ? nil : $0 } ?? "0"
        var resolved = ImageUser(uid: 0, gid: 0)
        var userName: String?
        if let entry = passwd.first(where: { $0.first == userPart }) ?? (UInt32(userPart).flatMap { uid in
            passwd.first(where: { $0.count > 2 && UInt32($0[2]) == uid })
        }), entry.count > 3, let uid = UInt32(entry[2]), let gid = UInt32(entry[3]) {
            resolved.uid = uid
            resolved.gid = gid
            resolved.home = entry.count > 5 && !entry[5].isEmpty ? entry[5] : "/"
            userName = entry[0]
        } else if let uid = UInt32(userPart) {
            resolved.uid = uid
        } else {
            throw ImageUserError.unknownUser(userPart)
        }
        if parts.count == 2 {
            resolved.gid = try groupID(parts[1], groups: groups)
        }
        if let userName {
            for entry in groups where entry.count > 3 && entry[3].split(separator: ",").contains(Substring(userName)) {
                if let gid = UInt32(entry[2]), gid != resolved.gid { resolved.additionalGroups.append(gid) }
            }
        }
        for group in groupAdd {
            resolved.additionalGroups.append(try groupID(group, groups: groups))
        }
        return resolved
    }

    private static func groupID(_ name: String, groups: [[String]]) throws -> UInt32 {
        if let entry = groups.first(where: { $0.first == name }), entry.count > 2, let gid = UInt32(entry[2]) { return gid }
        if let gid = UInt32(name) { return gid }
        throw ImageUserError.unknownGroup(name)
    }

    private static func parseEntries(_ text: String) -> [[String]] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
    }
}

public enum ImageUserError: Error, CustomStringConvertible {
    case unknownUser(String)
    case unknownGroup(String)

    public var description: String {
        switch self {
        case .unknownUser(let name): return "unable to find user \(name): no matching entries in passwd file"
        case .unknownGroup(let name): return "unable to find group \(name): no matching entries in group file"
        }
    }
}

/// Reads a file as the container would see it: from the topmost layer holding it, unless a
/// layer above hides it with a whiteout.
public enum LayeredFile {
    public static func read(_ path: String, layers: [String]) -> String? {
        for layer in layers {
            let candidate = layer + path
            var info = stat()
            guard lstat(candidate, &info) == 0 else { continue }
            // An overlay whiteout (a 0/0 character device) deletes the file in the layers below.
            if (info.st_mode & S_IFMT) == S_IFCHR && info.st_rdev == 0 { return nil }
            guard (info.st_mode & S_IFMT) == S_IFREG, info.st_size < 16 << 20 else { return nil }
            return try? String(contentsOfFile: candidate, encoding: .utf8)
        }
        return nil
    }
}
