import APIModels
import Foundation

/// One Dockerfile instruction of `commit --change` and `import --change`: CMD, ENTRYPOINT, ENV,
/// WORKDIR, USER, LABEL, EXPOSE.
enum ConfigChange {
    /// Applies one instruction to `config`.
    static func apply(_ change: String, to config: inout ContainerConfig) throws {
        let trimmed = change.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ContainerError.invalid("invalid change: \(change)") }
        let argument = parts[1].trimmingCharacters(in: .whitespaces)
        func command() -> [String] {
            if argument.hasPrefix("["), let list = try? JSONDecoder().decode([String].self, from: Data(argument.utf8)) { return list }
            return ["/bin/sh", "-c", argument]
        }
        func pairs() -> [(String, String)] {
            argument.split(separator: " ").map { item in
                let pair = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                return (pair[0], pair.count > 1 ? pair[1] : "")
            }
        }
        switch parts[0].uppercased() {
        case "CMD": config.Cmd = StringOrList(command())
        case "ENTRYPOINT": config.Entrypoint = StringOrList(command())
        case "WORKDIR": config.WorkingDir = argument
        case "USER": config.User = argument
        case "ENV":
            config.Env = Environment.overriding(config.Env ?? [], with: pairs().map { "\($0.0)=\($0.1)" })
        case "LABEL":
            var labels = config.Labels ?? [:]
            for (key, value) in pairs() { labels[key] = value }
            config.Labels = labels
        case "EXPOSE":
            var ports = config.ExposedPorts ?? [:]
            for port in argument.split(separator: " ") { ports[port.contains("/") ? String(port) : "\(port)/tcp"] = .object([:]) }
            config.ExposedPorts = ports
        default:
            throw ContainerError.invalid("\(parts[0]) is not a valid change command")
        }
    }
}
