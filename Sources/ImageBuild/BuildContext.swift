import Crypto
import Foundation

/// A build's context: a directory whose files COPY and ADD take, less what its `.dockerignore`
/// leaves out. Sources resolve inside it only (`..` stops at its root, as Docker's do), and their
/// content is hashed for the build cache's keys.
public struct BuildContext: Sendable {
    public let root: String
    public let ignore: IgnorePatterns

    /// `readsIgnoreFile`: false for an earlier stage's files, which no `.dockerignore` filters.
    public init(root: String, readsIgnoreFile: Bool = true) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
        let patterns = readsIgnoreFile ? (try? String(contentsOfFile: self.root + "/.dockerignore", encoding: .utf8)) : nil
        ignore = IgnorePatterns(patterns ?? "")
    }

    /// `path` as components below the root: `.` and empty ones dropped, `..` never above the root.
    public static func clean(_ path: String) -> [String] {
        var components: [String] = []
        for component in path.split(separator: "/") where component != "." {
            if component == ".." { _ = components.popLast() } else { components.append(String(component)) }
        }
        return components
    }

    /// What a COPY source names, as paths relative to the root ("" for the root itself), globs
    /// expanded per component; an error when nothing that is not ignored matches.
    public func resolve(_ source: String) throws -> [String] {
        var matches: [[String]] = [[]]
        for component in Self.clean(source) {
            var next: [[String]] = []
            for prefix in matches {
                if Glob.isPattern(component) {
                    let directory = ([root] + prefix).joined(separator: "/")
                    let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
                    next += names.filter { Glob.matches(component, $0) }.map { prefix + [$0] }
                } else {
                    next.append(prefix + [component])
                }
            }
            matches = next
        }
        let found = matches.map { $0.joined(separator: "/") }.filter { relative in
            var info = stat()
            return lstat(root + "/" + relative, &info) == 0 && (relative.isEmpty || !ignore.excludes(relative))
        }
        guard !found.isEmpty else {
            throw BuildContextError.notFound("\(source): no such file or directory in the build context")
        }
        return found
    }

    /// Every path under `relative` (itself first), parents before children, ignored ones left out.
    public func walk(_ relative: String) -> [String] {
        var paths = [relative]
        var info = stat()
        guard lstat(path(relative), &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return paths }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path(relative))) ?? []).sorted()
        for name in names {
            let child = relative.isEmpty ? name : relative + "/" + name
            // With re-including patterns an excluded directory may still hold wanted files.
            if ignore.excludes(child), !ignore.hasExclusions { continue }
            let below = walk(child)
            paths += below.filter { !ignore.excludes($0) }
        }
        return paths
    }

    public func path(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }

    /// Deletes from the context directory what its `.dockerignore` leaves out (the Dockerfile and
    /// `.dockerignore` themselves when it names them, as dockerd does after reading them), keeping
    /// the directories above re-included files, so that a directory source copies only the rest.
    public func removeIgnored() throws {
        guard !ignore.patterns.isEmpty else { return }
        let kept = Set(walk(""))
        var keptAncestors = Set<String>()
        for path in kept {
            var components = path.split(separator: "/").dropLast()
            while !components.isEmpty {
                keptAncestors.insert(components.joined(separator: "/"))
                components = components.dropLast()
            }
        }
        // Children before their directory, so a directory is emptied of what goes before it is looked at.
        for relative in everything("").reversed() where !kept.contains(relative) && !keptAncestors.contains(relative) {
            try? FileManager.default.removeItem(atPath: path(relative))
        }
    }

    /// Every path below `relative`, parents first, never through a symbolic link.
    private func everything(_ relative: String) -> [String] {
        var paths: [String] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path(relative))) ?? []).sorted()
        for name in names {
            let child = relative.isEmpty ? name : relative + "/" + name
            paths.append(child)
            var info = stat()
            if lstat(path(child), &info) == 0, info.st_mode & S_IFMT == S_IFDIR { paths += everything(child) }
        }
        return paths
    }

    /// A digest of what the sources hold: each path's name (relative to its source), type, mode,
    /// link target and contents, in order. Owners and times are left out, as Docker's cache does.
    public func checksum(_ sources: [String]) throws -> String {
        var hasher = SHA256()
        for source in sources {
            for relative in walk(source) {
                var info = stat()
                guard lstat(path(relative), &info) == 0 else { continue }
                let name = String(relative.dropFirst(source.count))
                hasher.update(data: Data("\(name)\0\(info.st_mode)\0".utf8))
                switch info.st_mode & S_IFMT {
                case S_IFLNK:
                    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path(relative))) ?? ""
                    hasher.update(data: Data(target.utf8))
                case S_IFREG:
                    guard let handle = FileHandle(forReadingAtPath: path(relative)) else {
                        throw BuildContextError.unreadable(relative)
                    }
                    defer { try? handle.close() }
                    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
                default:
                    break
                }
                hasher.update(data: Data([0]))
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

public enum BuildContextError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case unreadable(String)

    public var description: String {
        switch self {
        case .notFound(let message): return message
        case .unreadable(let path): return "\(path): cannot be read from the build context"
        }
    }
}
