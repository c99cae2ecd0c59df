import APIModels
import Foundation
import ImageBuild
import ImageStore
import OCI
import Registry
import SystemSupport

/// Builds an image from a Dockerfile as Docker's classic builder does: each instruction on the
/// image the one before made. RUN runs in a container of its own (natively, or through qemu-user
/// for another architecture), whose changes are committed as a layer and which is then removed;
/// COPY stages the context's files as a layer; the others change only the image's settings.
public struct ImageBuilder: Sendable {
    public enum PullPolicy: String, Sendable, CaseIterable {
        case always, missing, never
    }

    public struct Request: Sendable {
        /// The context's directory.
        public var context: String
        /// The Dockerfile's path inside the context.
        public var dockerfile = "Dockerfile"
        public var tags: [Reference] = []
        public var buildArguments: [String: String] = [:]
        public var target: String?
        public var platform: Platform?
        public var labels: [String: String] = [:]
        /// `--no-cache`: every step runs; what they make is still remembered.
        public var noCache = false
        /// When base images come from their registry: `always` before each stage (`--pull`),
        /// `missing` only when not present (Docker's classic builder), `never`.
        public var pull = PullPolicy.missing
        /// Credentials per registry (`docker.io`, `host:port`), as the client sent them.
        public var credentials: [String: RegistryCredentials] = [:]
        /// `--cache-from`: when given, a cached step counts only if its image is one of these or
        /// an ancestor of one (dockerd's classic builder); names that resolve to nothing are skipped.
        public var cacheFrom: [String] = []
        /// `--network` of the RUN steps' containers (`bridge` by default, `none`, `host`, a user network).
        public var networkMode: String?
        /// `--add-host` entries (`name:address`) for the RUN steps' /etc/hosts.
        public var extraHosts: [String] = []

        public init(context: String) {
            self.context = context
        }
    }

    let containers: ContainerService
    let images: ImageService
    public let cache: BuildCache

    public init(containers: ContainerService, images: ImageService) {
        self.containers = containers
        self.images = images
        cache = BuildCache(database: containers.catalog.database)
    }

    /// What a build prints, in order: step headers, RUN output, and the result lines.
    public typealias Progress = @Sendable (String) async -> Void

    /// One stage's state as its instructions run.
    struct StageState {
        var image: ImageRecord?
        var platform: Platform
        var config: ContainerConfig
        var shell = ["/bin/sh", "-c"]
        /// ARGs the stage declared, with their values.
        var arguments: [String: String] = [:]
        /// The request's network and extra hosts, for RUN's containers.
        var networkMode: String?
        var extraHosts: [String] = []
    }

    /// The context archive into `directory`, every entry kept inside it.
    public static func unpackContext(_ archive: String?, into directory: String) throws {
        guard let archive, let size = try? FileManager.default.attributesOfItem(atPath: archive)[.size] as? Int, size > 0 else { return }
        let root = open(directory, RootedFiles.rootOpenFlags)
        guard root >= 0 else { throw ContainerError.failed("opening \(directory): \(SystemError.text(errno))") }
        defer { close(root) }
        try RootedFiles(rootFD: root).extract(archive, into: "/")
    }

    /// Runs the build; `built` hears of the image before the "Successfully built" line, where
    /// dockerd's stream puts the image's ID.
    public func build(_ request: Request, progress: Progress,
                      built: @Sendable (ImageRecord) async -> Void = { _ in }) async throws -> ImageRecord {
        let cacheSources = request.cacheFrom.compactMap { try? images.resolve($0, platform: request.platform ?? images.hostPlatform) }
        let context = BuildContext(root: request.context)
        let dockerfilePath = context.path(BuildContext.clean(request.dockerfile).joined(separator: "/"))
        guard let text = try? String(contentsOfFile: dockerfilePath, encoding: .utf8) else {
            throw ContainerError.invalid("Cannot locate specified Dockerfile: \(request.dockerfile)")
        }
        let file = try DockerfileParser.parse(text)
        try context.removeIgnored()
        if let syntax = file.directives["syntax"] {
            await progress("Ignoring the syntax directive \(syntax): Berth's builder reads the Dockerfile itself\n")
        }
        let platform = request.platform ?? images.hostPlatform
        let plan = try BuildPlan.make(file, buildArguments: request.buildArguments, target: request.target, platform: platform,
                                      buildPlatform: images.hostPlatform)
        let total = plan.stages.reduce(0) { $0 + 1 + $1.instructions.count }
        var step = 0
        var finished: [ImageRecord?] = []
        var last: StageState?
        for (index, stage) in plan.stages.enumerated() {
            step += 1
            await progress("Step \(step)/\(total) : FROM \(stage.base)\(stage.name.map { " AS " + $0 } ?? "")\n")
            if stage.base.lowercased() != "scratch", plan.stageIndex(stage.base, before: index) == nil {
                try await pullBase(stage, policy: request.pull, platform: platform, credentials: request.credentials, progress: progress)
            }
            var state = try startStage(stage, index: index, plan: plan, finished: finished, platform: platform)
            state.networkMode = request.networkMode
            state.extraHosts = request.extraHosts
            await progress(" ---> \(state.image.map { String($0.id.encoded.prefix(12)) } ?? "scratch")\n")
            // The base image's ONBUILD triggers run first; the new image does not pass them on.
            var triggers: [Instruction] = []
            if let stored = state.config.OnBuild, !stored.isEmpty {
                await progress("# Executing \(stored.count) build trigger\(stored.count == 1 ? "" : "s")\n")
                triggers = try DockerfileParser.parse(stored.joined(separator: "\n")).instructions.map { trigger in
                    var placed = trigger
                    placed.line = stage.line
                    return placed
                }
                state.config.OnBuild = nil
            }
            for instruction in triggers + stage.instructions {
                step += 1
                await progress("Step \(step)/\(total) : \(Self.describe(instruction))\n")
                do {
                    // ARG changes only what later steps see; it makes no image to cache.
                    guard instruction.keyword != "ARG" else {
                        try await apply(instruction, to: &state, plan: plan, context: context, finished: finished, progress: progress)
                        continue
                    }
                    let key = try cacheKey(instruction, state: state, plan: plan, context: context, finished: finished)
                    if !request.noCache, let id = try cache.image(for: key), let cached = try images.catalog.image(id: id),
                       request.cacheFrom.isEmpty || cacheSources.contains(where: { isAncestor(cached, of: $0) }) {
                        state.image = cached
                        state.config = try settings(of: cached)
                        await progress(" ---> Using cache\n")
                        await progress(" ---> \(cached.id.encoded.prefix(12))\n")
                        continue
                    }
                    try await apply(instruction, to: &state, plan: plan, context: context, finished: finished, progress: progress)
                    if let made = state.image { try cache.record(key, image: made.id) }
                } catch let error as DockerfileError {
                    throw error
                } catch ContainerError.startFailed(let code, let message) {
                    // A RUN step's exit code reaches the client (errorDetail.code), its line the message.
                    throw ContainerError.startFailed(code: code, message: DockerfileError(line: instruction.line, message).description)
                } catch {
                    throw DockerfileError(line: instruction.line, "\(SystemError(foundation: error) ?? error)")
                }
            }
            finished.append(state.image)
            last = state
        }
        guard var state = last else { throw DockerfileError(line: 1, "no build stage in current context") }
        if !request.labels.isEmpty || state.image == nil {
            state.config.Labels = (state.config.Labels ?? [:]).merging(request.labels) { $1 }
            state.image = try await images.derive(base: state.image, platform: state.platform, layerDirectory: nil,
                                                  details: .init(config: state.config, comment: "", author: "", createdBy: "LABEL"),
                                                  name: nil)
        }
        guard let image = state.image else { throw DockerfileError(line: 1, "the build made no image") }
        await built(image)
        await progress("Successfully built \(image.id.encoded.prefix(12))\n")
        for tag in request.tags {
            try await images.tag(image.id.description, as: tag)
            await progress("Successfully tagged \(tag.withDefaultTag.familiarDescription)\n")
        }
        return image
    }

    /// Whether `image` is `descendant` or one of the images it was built on: its layers and history
    /// begin `descendant`'s.
    func isAncestor(_ image: ImageRecord, of descendant: ImageRecord) -> Bool {
        if image.id == descendant.id { return true }
        guard image.layers.count <= descendant.layers.count,
              zip(image.layers, descendant.layers).allSatisfy({ $0.diffID == $1.diffID }),
              let history = try? images.config(of: image).history ?? [],
              let descendantHistory = try? images.config(of: descendant).history ?? [],
              history.count < descendantHistory.count
        else { return false }
        return zip(history, descendantHistory).allSatisfy { $0.created_by == $1.created_by }
    }

    /// Fetches a stage's base image as the policy says: always, or when it is not present.
    func pullBase(_ stage: BuildPlan.Stage, policy: PullPolicy, platform: Platform, credentials: [String: RegistryCredentials],
                  progress: Progress) async throws {
        let stagePlatform = try stage.platform.map(Platform.init(parsing:)) ?? platform
        switch policy {
        case .never: return
        case .missing: if (try? images.resolve(stage.base, platform: stagePlatform)) != nil { return }
        case .always: break
        }
        do {
            let reference = try Reference(parsing: stage.base)
            await progress("Pulling \(reference.withDefaultTag.familiarDescription) (\(stagePlatform))\n")
            _ = try await images.pull(reference, platform: stagePlatform, credentials: credentials[reference.domain]) { _ in }
        } catch {
            throw DockerfileError(line: stage.line, "pulling \(stage.base): \(error)")
        }
    }

    /// The stage's base: nothing for scratch, an earlier stage's result, or a local image of the stage's platform.
    func startStage(_ stage: BuildPlan.Stage, index: Int, plan: BuildPlan, finished: [ImageRecord?], platform: Platform) throws -> StageState {
        let stagePlatform = try stage.platform.map(Platform.init(parsing:)) ?? platform
        if stage.base.lowercased() == "scratch" {
            return StageState(image: nil, platform: stagePlatform, config: ContainerConfig())
        }
        let image: ImageRecord
        if let earlier = plan.stageIndex(stage.base, before: index) {
            guard let made = finished[earlier] else {
                return StageState(image: nil, platform: stagePlatform, config: ContainerConfig())
            }
            image = made
        } else {
            do {
                image = try images.resolve(stage.base, platform: stagePlatform)
            } catch {
                throw DockerfileError(line: stage.line, "No such image: \(stage.base) for \(stagePlatform)")
            }
        }
        let config = try settings(of: image)
        return StageState(image: image, platform: image.platform, config: config, shell: config.Shell ?? ["/bin/sh", "-c"])
    }

    /// The container settings an image carries, as a stage goes on from them.
    func settings(of image: ImageRecord) throws -> ContainerConfig {
        let settings = try images.config(of: image).config
        var config = ContainerConfig()
        config.User = settings?.User
        config.Env = settings?.Env
        config.Entrypoint = settings?.Entrypoint.map(StringOrList.init)
        config.Cmd = settings?.Cmd.map(StringOrList.init)
        config.WorkingDir = settings?.WorkingDir
        config.Labels = settings?.Labels
        config.StopSignal = settings?.StopSignal
        config.ExposedPorts = settings?.ExposedPorts.map { Dictionary(uniqueKeysWithValues: $0.keys.map { ($0, JSONValue.object([:])) }) }
        config.Volumes = settings?.Volumes.map { Dictionary(uniqueKeysWithValues: $0.keys.map { ($0, JSONValue.object([:])) }) }
        config.Healthcheck = settings?.Healthcheck.map {
            HealthConfig(Test: $0.Test, Interval: $0.Interval, Timeout: $0.Timeout, StartPeriod: $0.StartPeriod,
                         StartInterval: $0.StartInterval, Retries: $0.Retries)
        }
        config.OnBuild = settings?.OnBuild
        config.Shell = settings?.Shell
        return config
    }

    /// What decides a step's result: the image it starts from, the instruction as written and as
    /// expanded, the shell, and what it reads (the arguments for RUN, the files' content for COPY
    /// and ADD, an earlier stage's image for --from).
    func cacheKey(_ instruction: Instruction, state: StageState, plan: BuildPlan, context: BuildContext,
                  finished: [ImageRecord?]) throws -> String {
        var parts = [state.image?.id.description ?? "scratch \(state.platform)", state.platform.description, Self.describe(instruction),
                     ShellWords.expand(instruction.arguments.text, scope(state, plan), escape: plan.escape), state.shell.joined(separator: " ")]
        switch instruction.keyword {
        case "RUN":
            parts += state.arguments.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        case "COPY", "ADD":
            if let from = instruction.flags["from"] {
                parts.append(plan.stageIndex(from, before: finished.count).flatMap { finished[$0]?.id.description } ?? from)
            } else {
                var words: [String]
                if case .exec(let list) = instruction.arguments { words = list } else {
                    words = ShellWords.words(ShellWords.expand(instruction.arguments.text, scope(state, plan), escape: plan.escape),
                                             escape: plan.escape)
                }
                guard words.count >= 2 else { throw ContainerError.invalid("\(instruction.keyword) requires at least two arguments") }
                words.removeLast()
                let local = words.filter { !$0.contains("://") }
                parts.append(try context.checksum(try local.flatMap { try context.resolve($0) }))
            }
        default:
            break
        }
        return BuildCache.key(parts)
    }

    /// What `$NAME` means in a step: built-in arguments, then the stage's ARGs, then its ENV.
    func scope(_ state: StageState, _ plan: BuildPlan) -> [String: String] {
        let environment = Dictionary(
            (state.config.Env ?? []).map { entry -> (String, String) in
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                return (parts[0], parts.count > 1 ? parts[1] : "")
            }, uniquingKeysWith: { $1 })
        return plan.builtinArguments.merging(state.arguments) { $1 }.merging(environment) { $1 }
    }

    /// Step N's header text: the instruction as written, continuation lines joined.
    static func describe(_ instruction: Instruction) -> String {
        let flags = instruction.flags.sorted { $0.key < $1.key }.map { "--\($0.key)=\($0.value) " }.joined()
        switch instruction.arguments {
        case .shell(let text): return "\(instruction.keyword) \(flags)\(text)"
        case .exec(let words):
            let encoder = JSONEncoder()
            encoder.outputFormatting = .withoutEscapingSlashes
            let json = (try? String(decoding: encoder.encode(words), as: UTF8.self)) ?? ""
            return "\(instruction.keyword) \(flags)\(json)"
        }
    }
}
