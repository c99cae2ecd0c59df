import Foundation
import ImageStore
import VMRuntime

/// A running VM container's files, reached through its guest agent's builtins, which work inside
/// the container's namespaces and root: the guest kernel resolves every path there.
struct GuestContainerFiles: ContainerFiles {
    let agent: GuestBuiltin

    func stat(_ path: String) throws -> RootedFiles.PathStat {
        let said = String(decoding: try translating(path) { try agent.run(.stat, path, inContainer: true) }, as: UTF8.self)
        let lines = said.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let fields = lines.first?.split(separator: " ") ?? []
        guard fields.count == 3, let rawMode = UInt32(fields[0], radix: 8), let size = Int64(fields[1]), let modified = Int64(fields[2]) else {
            throw ContainerError.failed("the guest agent's stat of \(path) is malformed: \(said)")
        }
        let type = rawMode & UInt32(S_IFMT)
        var mode = rawMode & 0o7777
        if type == UInt32(S_IFDIR) { mode |= 1 << 31 }
        if type == UInt32(S_IFLNK) { mode |= 1 << 27 }
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        let name = (trimmed as NSString).lastPathComponent
        return RootedFiles.PathStat(name: name.isEmpty ? "/" : name, size: size, mode: mode,
                                    modified: Date(timeIntervalSince1970: TimeInterval(modified)),
                                    linkTarget: lines.count > 1 ? String(lines[1]) : "")
    }

    func archive(_ path: String, to output: String) throws {
        try translating(path) { _ = try agent.run(.archive, path, inContainer: true, output: output) }
    }

    func extract(_ tarPath: String, into path: String) throws {
        try translating(path) { _ = try agent.run(.extract, path, inContainer: true, input: tarPath) }
    }

    /// The builtin's statuses as the errors the host's own file walk throws, so that the API answers alike.
    private func translating<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let failure as GuestBuiltin.Failure {
            switch failure.status {
            case 2: throw RootedFilesError.notFound(path)
            case 3: throw RootedFilesError.notADirectory(path)
            case 4: throw ArchiveError.invalid(failure.message)
            case 125: throw ContainerError.conflict("the container's utility VM did not answer: \(failure.message)")
            default: throw ContainerError.failed(failure.message)
            }
        }
    }
}
