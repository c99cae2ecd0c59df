import Foundation

/// Docker's seccomp profile format (`--security-opt seccomp=profile.json`, the CRI's localhost
/// profiles): a default action, then rules naming calls, with an action, argument conditions, and
/// the capabilities and architectures they are for.
extension SeccompProfile {
    /// The policy `json` describes, for a container with `capabilities` on `architecture` (Go's names).
    public static func docker(_ json: Data, capabilities: CapabilitySet, architecture: String) throws -> SeccompProfile {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: json)
        } catch {
            throw SeccompError.invalidProfile("not a seccomp profile in Docker's format: \(error)")
        }
        var rules: [Rule] = []
        for entry in document.syscalls ?? [] {
            let names = (entry.names ?? []) + (entry.name.map { [$0] } ?? [])
            guard !names.isEmpty else { throw SeccompError.invalidProfile("a rule names no system call") }
            if let includes = entry.includes {
                if let caps = includes.caps, !caps.isEmpty, try !caps.allSatisfy({ capabilities.contains(try capability($0)) }) { continue }
                if let arches = includes.arches, !arches.isEmpty, !arches.contains(architecture) { continue }
            }
            if let excludes = entry.excludes {
                if let caps = excludes.caps, try caps.contains(where: { capabilities.contains(try capability($0)) }) { continue }
                if let arches = excludes.arches, arches.contains(architecture) { continue }
            }
            let arguments = try (entry.args ?? []).map { argument -> (index: UInt32, comparison: Rule.Comparison) in
                guard argument.index < 6 else { throw SeccompError.invalidProfile("argument index \(argument.index) is past the sixth") }
                return (argument.index, try comparison(argument))
            }
            rules.append(Rule(names: names, arguments: arguments, action: try action(entry.action, errno: entry.errnoRet)))
        }
        var profile = SeccompProfile(rules: rules, architecture: architecture)
        profile.defaultAction = try action(document.defaultAction, errno: document.defaultErrnoRet)
        return profile
    }

    private struct Document: Decodable {
        var defaultAction: String
        var defaultErrnoRet: Int32?
        var syscalls: [Entry]?
    }

    private struct Entry: Decodable {
        var names: [String]?
        var name: String?
        var action: String
        var errnoRet: Int32?
        var args: [Argument]?
        var includes: Filter?
        var excludes: Filter?
    }

    private struct Argument: Decodable {
        var index: UInt32
        var value: UInt64
        var valueTwo: UInt64?
        var op: String
    }

    private struct Filter: Decodable {
        var caps: [String]?
        var arches: [String]?
    }

    private static func action(_ name: String, errno: Int32?) throws -> Action {
        switch name {
        case "SCMP_ACT_ALLOW": return .allow
        case "SCMP_ACT_ERRNO": return .errno(errno ?? EPERM)
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return .killThread
        case "SCMP_ACT_KILL_PROCESS": return .killProcess
        case "SCMP_ACT_TRAP": return .trap
        case "SCMP_ACT_LOG": return .log
        default: throw SeccompError.invalidProfile("the action \(name) is not supported")
        }
    }

    private static func comparison(_ argument: Argument) throws -> Rule.Comparison {
        switch argument.op {
        case "SCMP_CMP_NE": return .notEqual(argument.value)
        case "SCMP_CMP_LT": return .lessThan(argument.value)
        case "SCMP_CMP_LE": return .lessOrEqual(argument.value)
        case "SCMP_CMP_EQ": return .equal(argument.value)
        case "SCMP_CMP_GE": return .greaterOrEqual(argument.value)
        case "SCMP_CMP_GT": return .greaterThan(argument.value)
        case "SCMP_CMP_MASKED_EQ": return .maskedEqual(mask: argument.value, value: argument.valueTwo ?? 0)
        default: throw SeccompError.invalidProfile("the comparison \(argument.op) is not supported")
        }
    }

    private static func capability(_ name: String) throws -> Capability {
        guard let capability = Capability(name: name) else { throw SeccompError.invalidProfile("unknown capability \(name)") }
        return capability
    }
}
