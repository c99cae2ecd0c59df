import APIModels
import Foundation
import ImageBuild
import ImageStore
import OCI

extension ImageBuilder {
    /// Runs one instruction of a stage, leaving its result in `state`.
    func apply(_ instruction: Instruction, to state: inout StageState, plan: BuildPlan, context: BuildContext,
               finished: [ImageRecord?], progress: Progress) async throws {
        let text = Self.text(instruction)
        let scope = self.scope(state, plan)
        func expanded() -> String { ShellWords.expand(text, scope) }
        func command() -> [String] {
            if case .exec(let words) = instruction.arguments { return words }
            return state.shell + [text]
        }
        var settingsChanged = true
        switch instruction.keyword {
        case "ENV":
            let pairs = ShellWords.pairs(expanded(), allowsLegacyForm: true)
            state.config.Env = Environment.overriding(state.config.Env ?? [], with: pairs.map { "\($0.0)=\($0.1 ?? "")" })
        case "ARG":
            for (name, defaultValue) in ShellWords.pairs(expanded(), allowsLegacyForm: false) {
                state.arguments[name] = plan.buildArguments[name] ?? defaultValue ?? plan.globalArguments[name]
                    ?? plan.builtinArguments[name] ?? ""
            }
            settingsChanged = false
        case "LABEL":
            var labels = state.config.Labels ?? [:]
            for (key, value) in ShellWords.pairs(expanded(), allowsLegacyForm: true) { labels[key] = value ?? "" }
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
            for port in ShellWords.words(expanded()) { ports[port.contains("/") ? port.lowercased() : port + "/tcp"] = .object([:]) }
            state.config.ExposedPorts = ports
        case "VOLUME":
            var volumes = state.config.Volumes ?? [:]
            let paths: [String]
            if case .exec(let words) = instruction.arguments { paths = words } else { paths = ShellWords.words(expanded()) }
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
            settingsChanged = false
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
}
