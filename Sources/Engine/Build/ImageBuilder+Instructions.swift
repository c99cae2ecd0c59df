import APIModels
import Foundation
import ImageBuild
import ImageStore
import OCI

extension ImageBuilder {
    /// Runs one instruction of a stage, leaving its result in `state`.
    func apply(_ instruction: Instruction, to state: inout StageState, plan: BuildPlan, context: BuildContext,
               finished: [ImageRecord?], progress: Progress) async throws {
        let known = Self.knownFlags[instruction.keyword] ?? []
        if let unknown = instruction.flags.keys.sorted().first(where: { !known.contains($0) }) {
            throw DockerfileError(line: instruction.line, "unknown flag: --\(unknown) (\(instruction.keyword) takes "
                + (known.isEmpty ? "none" : known.sorted().map { "--" + $0 }.joined(separator: ", ")) + ")")
        }
        let text = instruction.arguments.text
        let scope = self.scope(state, plan)
        func expanded() -> String { ShellWords.expand(text, scope, escape: plan.escape) }
        func command() -> [String] {
            if case .exec(let words) = instruction.arguments { return words }
            return state.shell + [text]
        }
        var settingsChanged = true
        switch instruction.keyword {
        case "ENV":
            let pairs = ShellWords.pairs(expanded(), allowsLegacyForm: true, escape: plan.escape)
            state.config.Env = Environment.overriding(state.config.Env ?? [], with: pairs.map { "\($0.0)=\($0.1 ?? "")" })
        case "ARG":
            for (name, defaultValue) in ShellWords.pairs(expanded(), allowsLegacyForm: false, escape: plan.escape) {
                state.arguments[name] = plan.buildArguments[name] ?? defaultValue ?? plan.globalArguments[name]
                    ?? plan.builtinArguments[name] ?? ""
            }
            settingsChanged = false
        case "LABEL":
            var labels = state.config.Labels ?? [:]
            for (key, value) in ShellWords.pairs(expanded(), allowsLegacyForm: true, escape: plan.escape) { labels[key] = value ?? "" }
            state.config.Labels = labels
        case "MAINTAINER":
            break
        case "WORKDIR":
            let path = expanded()
            let directory = path.hasPrefix("/") ? path : ((state.config.WorkingDir ?? "/") as NSString).appendingPathComponent(path)
            state.config.WorkingDir = directory
            // Made in the image when missing, as Docker does: a VM's agent will not make it at run time.
            if try await makeDirectory(directory, state: &state, createdBy: "/bin/sh -c #(nop) " + Self.describe(instruction)) {
                await progress(" ---> \(state.image.map { String($0.id.encoded.prefix(12)) } ?? "")\n")
                return
            }
        case "USER":
            state.config.User = expanded()
        case "STOPSIGNAL":
            state.config.StopSignal = expanded()
        case "EXPOSE":
            var ports = state.config.ExposedPorts ?? [:]
            for port in ShellWords.words(expanded(), escape: plan.escape) { ports[port.contains("/") ? port.lowercased() : port + "/tcp"] = .object([:]) }
            state.config.ExposedPorts = ports
        case "VOLUME":
            var volumes = state.config.Volumes ?? [:]
            let paths: [String]
            if case .exec(let words) = instruction.arguments { paths = words } else { paths = ShellWords.words(expanded(), escape: plan.escape) }
            for path in paths { volumes[path] = .object([:]) }
            state.config.Volumes = volumes
        case "CMD":
            state.config.Cmd = StringOrList(command())
        case "ENTRYPOINT":
            state.config.Entrypoint = StringOrList(command())
            // A new entrypoint drops the command the base image had.
            state.config.Cmd = nil
        case "SHELL":
            guard case .exec(let words) = instruction.arguments, !words.isEmpty else {
                throw DockerfileError(line: instruction.line, "SHELL requires the arguments to be in JSON form")
            }
            state.shell = words
            state.config.Shell = words
        case "HEALTHCHECK":
            state.config.Healthcheck = try Self.healthcheck(instruction, text: text)
        case "ONBUILD":
            guard case .instruction(let trigger) = instruction.trigger else {
                throw DockerfileError(line: instruction.line, "ONBUILD requires an instruction")
            }
            state.config.OnBuild = (state.config.OnBuild ?? []) + [Self.describe(trigger)]
        case "RUN":
            try await run(command(), state: &state, createdBy: "RUN " + text, progress: progress)
            return
        case "COPY", "ADD":
            try await copy(instruction, expanded: expanded(), state: &state, context: context, plan: plan, finished: finished)
            await progress(" ---> \(state.image.map { String($0.id.encoded.prefix(12)) } ?? "")\n")
            return
        default:
            throw DockerfileError(line: instruction.line, "\(instruction.keyword) is not available in Berth's builder yet")
        }
        if settingsChanged {
            state.image = try await images.derive(base: state.image, platform: state.platform, layerDirectory: nil,
                                                  details: .init(config: state.config, comment: "", author: "",
                                                                 createdBy: "/bin/sh -c #(nop) " + Self.describe(instruction)),
                                                  name: nil)
        }
        await progress(" ---> \(state.image.map { String($0.id.encoded.prefix(12)) } ?? "scratch")\n")
    }

    /// The options each instruction takes; any other is an error rather than silently ignored.
    static let knownFlags: [String: Set<String>] = [
        "COPY": ["from", "chown", "chmod"], "ADD": ["chown", "chmod"],
        "HEALTHCHECK": ["interval", "timeout", "start-period", "start-interval", "retries"],
    ]

    /// HEALTHCHECK NONE, or CMD in exec or shell form with its --interval, --timeout, --start-period,
    /// --start-interval and --retries.
    static func healthcheck(_ instruction: Instruction, text: String) throws -> HealthConfig {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.uppercased() == "NONE" { return HealthConfig(Test: ["NONE"]) }
        guard trimmed.uppercased().hasPrefix("CMD ") else {
            throw DockerfileError(line: instruction.line, "HEALTHCHECK takes CMD followed by a command, or NONE")
        }
        let command = String(trimmed.dropFirst(4)).trimmingCharacters(in: .whitespaces)
        var check = HealthConfig(Test: [])
        switch DockerfileParser.arguments(command) {
        case .exec(let words): check.Test = ["CMD"] + words
        case .shell(let line): check.Test = ["CMD-SHELL", line]
        }
        func duration(_ name: String) throws -> Int64? {
            guard let value = instruction.flags[name] else { return nil }
            guard let nanoseconds = Self.nanoseconds(value) else {
                throw DockerfileError(line: instruction.line, "invalid --\(name)=\(value): a duration such as 30s or 1m30s")
            }
            return nanoseconds
        }
        check.Interval = try duration("interval")
        check.Timeout = try duration("timeout")
        check.StartPeriod = try duration("start-period")
        check.StartInterval = try duration("start-interval")
        if let retries = instruction.flags["retries"] {
            guard let count = Int(retries), count >= 0 else { throw DockerfileError(line: instruction.line, "invalid --retries=\(retries)") }
            check.Retries = count
        }
        return check
    }

    /// Go's durations as HEALTHCHECK takes them: "1h2m3.5s", "500ms", "250us".
    static func nanoseconds(_ text: String) -> Int64? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !$0.isNumber && $0 != "." }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        return Int64(total)
    }
}
