import APIModels
import Foundation
import ImageBuild
import ImageStore
import OCI
import SystemSupport

extension ImageBuilder {
    /// RUN: the command in a container of the stage's image, its output passed on as it comes, its
    /// changes committed as a layer; the container goes however it ends.
    func run(_ command: [String], state: inout StageState, createdBy: String, progress: Progress) async throws {
        guard let image = state.image else {
            throw ContainerError.invalid("RUN needs a base image with a shell: this stage starts FROM scratch")
        }
        var config = state.config
        config.Image = image.id.description
        config.Entrypoint = StringOrList([""])
        config.Cmd = StringOrList(command)
        // Declared ARGs are the command's environment too, below ENV.
        config.Env = Environment.overriding(state.arguments.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
                                            with: state.config.Env ?? [])
        var host = HostConfig()
        host.NetworkMode = state.networkMode
        host.ExtraHosts = state.extraHosts.isEmpty ? nil : state.extraHosts
        host.Annotations = [HostConfig.buildStepAnnotation: "true"]
        if state.platform.architecture != images.hostPlatform.architecture {
            // qemu-user on this kernel: its changes land in an upper directory that can be committed.
            host.Annotations?[HostConfig.emulationAnnotation] = "user"
        }
        let (id, _) = try await containers.create(ContainerCreateRequest(config: config, hostConfig: host), name: nil,
                                                  platform: state.platform)
        do {
            await progress(" ---> Running in \(id.prefix(12))\n")
            let exited = try await containers.waiter(id, condition: .nextExit)
            let waiting = Task { await exited() }
            try await containers.start(id)
            let output = LogFollower(ContainerLogs(path: containers.paths.log(id)), from: 0, options: ContainerLogs.Options())
            var status: ContainerService.ExitStatus?
            // Output as it comes, and once more after the exit for what came last.
            repeat {
                status = await Self.result(of: waiting, within: .milliseconds(100))
                // As the classic builder: the step's stderr in red.
                for entry in output.next() { await progress(entry.stream == 2 ? "\u{1b}[91m" + entry.text + "\u{1b}[0m" : entry.text) }
            } while status == nil
            let code = status?.code ?? -1
            guard code == 0 else {
                throw ContainerError.startFailed(code: code,
                                                 message: "The command '\(command.joined(separator: " "))' returned a non-zero code: \(code)")
            }
            state.image = try await images.commit(
                base: image, upperDirectory: containers.paths.upper(id),
                details: .init(config: state.config, comment: "", author: "", createdBy: createdBy),
                name: nil, placeholders: ["etc/hostname", "etc/hosts", "etc/resolv.conf"])
        } catch {
            try? await containers.remove(id, force: true, removeVolumes: true)
            throw error
        }
        try? await containers.remove(id, force: true, removeVolumes: true)
        await progress(" ---> Removed intermediate container \(id.prefix(12))\n ---> \(state.image.map { String($0.id.encoded.prefix(12)) } ?? "")\n")
    }

    /// The task's value if it finishes within `timeout`, else nil (the task goes on).
    static func result<T: Sendable>(of task: Task<T, Never>, within timeout: Duration) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await task.value }
            group.addTask { try? await Task.sleep(for: timeout); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// COPY and ADD: the sources (from the context, or from an earlier stage with `--from`) staged
    /// at the destination as one layer; directories give their contents, `--chown` and `--chmod`
    /// apply to all; ADD unpacks a local tar archive. Parent directories keep the image's modes.
    func copy(_ instruction: Instruction, expanded: String, state: inout StageState, context: BuildContext, plan: BuildPlan,
              finished: [ImageRecord?]) async throws {
        var words: [String]
        if case .exec(let list) = instruction.arguments { words = list } else { words = ShellWords.words(expanded, escape: plan.escape) }
        guard words.count >= 2 else { throw ContainerError.invalid("\(instruction.keyword) requires at least two arguments") }
        let destination = words.removeLast()
        if instruction.keyword == "ADD", let url = words.first(where: { $0.contains("://") }) {
            throw ContainerError.invalid("ADD \(url): builds run offline, so remote sources are refused; "
                + "put the file in the build context and COPY it")
        }
        let mode = try instruction.flags["chmod"].map { text -> mode_t in
            guard let value = mode_t(text, radix: 8), value <= 0o7777 else { throw ContainerError.invalid("invalid --chmod \(text): an octal mode") }
            return value
        }
        let staging = images.snapshots.root + "/.build-copy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let workdir = state.config.WorkingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        let target = "/" + BuildContext.clean(destination.hasPrefix("/") ? destination : workdir + "/" + destination).joined(separator: "/")
        let sourceImage: ImageRecord?
        if let from = instruction.flags["from"] {
            guard let index = plan.stageIndex(from, before: finished.count) else {
                throw ContainerError.invalid("COPY --from=\(from): no earlier stage has that name (copying from other images is not available)")
            }
            sourceImage = finished[index]
        } else {
            sourceImage = nil
        }
        let base = state.image
        let keyword = instruction.keyword
        try images.withMergedRoot(base) { baseRoot in
            let owner = try instruction.flags["chown"].map { try Self.owner($0, imageRoot: baseRoot) }
            try images.withMergedRoot(sourceImage) { stageRoot in
                let sources = instruction.flags["from"] == nil ? context : BuildContext(root: stageRoot ?? "/nonexistent", readsIgnoreFile: false)
                let found = try words.flatMap { try sources.resolve($0) }
                var info = stat()
                let single = found.count == 1 && lstat(sources.path(found[0]), &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
                let intoDirectory = destination.hasSuffix("/") || found.count > 1 || single
                let target = try Self.resolve(target, in: baseRoot, followingLast: intoDirectory)
                try Self.makeDirectories(to: target, includingTarget: intoDirectory, in: staging, mirroring: baseRoot)
                for source in found {
                    let path = sources.path(source)
                    let name = (path as NSString).lastPathComponent
                    guard lstat(path, &info) == 0 else { continue }
                    if info.st_mode & S_IFMT == S_IFDIR {
                        try Self.copyTree(path, to: staging + target, owner: owner, mode: mode, contentsOnly: true)
                    } else if keyword == "ADD", Self.isArchive(name) {
                        try Self.extract(path, into: staging, at: target)
                    } else {
                        try Self.copyTree(path, to: staging + (intoDirectory ? target + "/" + name : target), owner: owner, mode: mode,
                                          contentsOnly: false)
                    }
                }
            }
        }
        state.image = try await images.derive(base: state.image, platform: state.platform, layerDirectory: staging,
                                              details: .init(config: state.config, comment: "", author: "",
                                                             createdBy: "/bin/sh -c #(nop) " + Self.describe(instruction)),
                                              name: nil)
    }

    /// WORKDIR's directory, as a layer when the image lacks it; false when it was there already.
    func makeDirectory(_ directory: String, state: inout StageState, createdBy: String) async throws -> Bool {
        let staging = images.snapshots.root + "/.build-workdir-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let missing = try images.withMergedRoot(state.image) { root -> Bool in
            let directory = try Self.resolve(directory, in: root, followingLast: true)
            var info = stat()
            if let root, lstat(root + directory, &info) == 0 { return false }
            try Self.makeDirectories(to: directory, includingTarget: true, in: staging, mirroring: root)
            return true
        }
        guard missing else { return false }
        state.image = try await images.derive(base: state.image, platform: state.platform, layerDirectory: staging,
                                              details: .init(config: state.config, comment: "", author: "", createdBy: createdBy),
                                              name: nil)
        return true
    }

    /// `--chown=user[:group]`: ids, or names looked up in the image's /etc/passwd and /etc/group; a
    /// user alone brings its primary group (a numeric one, the same id).
    static func owner(_ text: String, imageRoot: String?) throws -> (uid_t, gid_t) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        func entries(_ file: String) -> [[String]] {
            let content = imageRoot.flatMap { try? String(contentsOfFile: $0 + "/etc/" + file, encoding: .utf8) } ?? ""
            return content.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
        }
        var primaryGroup: gid_t?
        let uid: uid_t
        if let number = uid_t(parts[0]) {
            uid = number
        } else if let entry = entries("passwd").first(where: { $0.count > 3 && $0[0] == parts[0] }), let number = uid_t(entry[2]) {
            uid = number
            primaryGroup = gid_t(entry[3])
        } else {
            throw ContainerError.invalid("--chown=\(text): no user \(parts[0]) in the image's /etc/passwd")
        }
        guard parts.count > 1 else { return (uid, primaryGroup ?? gid_t(uid)) }
        if let number = gid_t(parts[1]) { return (uid, number) }
        guard let entry = entries("group").first(where: { $0.count > 2 && $0[0] == parts[1] }), let gid = gid_t(entry[2]) else {
            throw ContainerError.invalid("--chown=\(text): no group \(parts[1]) in the image's /etc/group")
        }
        return (uid, gid)
    }

    static func isArchive(_ name: String) -> Bool {
        [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"].contains { name.hasSuffix($0) }
    }

    /// A destination in the image as a process in it would reach it: through the image's symlinks,
    /// resolved inside `imageRoot` (nil: an empty image). The staged layer then holds the real path,
    /// and a directory there never replaces the image's symlink to it.
    static func resolve(_ target: String, in imageRoot: String?, followingLast: Bool) throws -> String {
        guard let imageRoot else { return target }
        let root = open(imageRoot, RootedFiles.rootOpenFlags)
        guard root >= 0 else { throw ContainerError.invalid("opening the image's files: \(SystemError.text(errno))") }
        defer { close(root) }
        return try RootedFiles(rootFD: root).resolve(target, followingLast: followingLast)
    }

    /// The directories above `target` (and with `includingTarget`, it too) in the staging tree, with
    /// the modes and owners the image has for them.
    static func makeDirectories(to target: String, includingTarget: Bool, in staging: String, mirroring imageRoot: String?) throws {
        var path = ""
        let components = BuildContext.clean(target)
        for component in includingTarget ? components : components.dropLast() {
            path += "/" + component
            var info = stat()
            if lstat(staging + path, &info) == 0 { continue }
            guard mkdir(staging + path, 0o755) == 0 else {
                throw ContainerError.invalid("staging \(path): \(SystemError.text(errno))")
            }
            if let imageRoot, lstat(imageRoot + path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
                chmod(staging + path, info.st_mode & 0o7777)
                chown(staging + path, info.st_uid, info.st_gid)
            }
        }
    }

    /// Copies a file, link or directory (with `contentsOnly`, what it holds into `destination`),
    /// keeping modes unless `mode` is given; owned by root unless `owner` is.
    static func copyTree(_ source: String, to destination: String, owner: (uid_t, gid_t)?, mode: mode_t?, contentsOnly: Bool) throws {
        var info = stat()
        guard lstat(source, &info) == 0 else { throw ContainerError.invalid("reading \(source): \(SystemError.text(errno))") }
        let manager = FileManager.default
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            var existing = stat()
            if lstat(destination, &existing) != 0 {
                guard mkdir(destination, 0o755) == 0 else {
                    throw ContainerError.invalid("staging \(destination): \(SystemError.text(errno))")
                }
            }
            if !contentsOnly || existing.st_mode == 0 { try apply(destination, info: info, owner: owner, mode: mode) }
            for name in try manager.contentsOfDirectory(atPath: source).sorted() {
                try copyTree(source + "/" + name, to: destination + "/" + name, owner: owner, mode: mode, contentsOnly: false)
            }
        case S_IFLNK:
            try? manager.removeItem(atPath: destination)
            try manager.createSymbolicLink(atPath: destination, withDestinationPath: try manager.destinationOfSymbolicLink(atPath: source))
            let (uid, gid) = owner ?? (0, 0)
            lchown(destination, uid, gid)
        case S_IFREG:
            try? manager.removeItem(atPath: destination)
            try manager.copyItem(atPath: source, toPath: destination)
            try apply(destination, info: info, owner: owner, mode: mode)
        default:
            throw ContainerError.invalid("\(source): only files, directories and symbolic links can be copied")
        }
    }

    private static func apply(_ path: String, info: stat, owner: (uid_t, gid_t)?, mode: mode_t?) throws {
        let (uid, gid) = owner ?? (0, 0)
        guard chown(path, uid, gid) == 0, chmod(path, mode ?? info.st_mode & 0o7777) == 0 else {
            throw ContainerError.invalid("staging \(path): \(SystemError.text(errno))")
        }
    }

    /// ADD's unpacking of a local archive at `target`, resolved inside the staging tree.
    static func extract(_ archive: String, into staging: String, at target: String) throws {
        try FileManager.default.createDirectory(atPath: staging + target, withIntermediateDirectories: true)
        let root = open(staging, RootedFiles.rootOpenFlags)
        guard root >= 0 else { throw ContainerError.invalid("opening \(staging)") }
        defer { close(root) }
        do {
            try RootedFiles(rootFD: root).extract(archive, into: target)
        } catch {
            throw ContainerError.invalid("ADD \((archive as NSString).lastPathComponent): \(error)")
        }
    }
}
