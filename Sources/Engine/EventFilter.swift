/// Docker's `filters` for events: within a key any value may match; every key given must match.
public struct EventFilter: Sendable, Equatable {
    public static let supportedKeys: Set<String> = [
        "type", "event", "container", "image", "volume", "network", "daemon", "label", "scope",
    ]

    public private(set) var values: [String: Set<String>]

    public init(_ values: [String: Set<String>] = [:]) throws {
        for key in values.keys where !Self.supportedKeys.contains(key) {
            throw EventFilterError.unknownKey(key)
        }
        for type in values["type"] ?? [] where !Self.knownTypes.contains(type) {
            throw EventFilterError.unknownType(type)
        }
        self.values = values
    }

    static let knownTypes: Set<String> = [
        "container", "image", "volume", "network", "daemon", "plugin", "node", "service", "secret", "config",
    ]

    public func matches(_ event: EngineEvent) -> Bool {
        for (key, accepted) in values where !accepted.isEmpty {
            let matched: Bool
            switch key {
            case "type":
                matched = accepted.contains(event.type)
            case "event":
                // Docker lets `exec_start` match `exec_start: sh -c ...`.
                let action = event.action.split(separator: ":", maxSplits: 1).first.map(String.init) ?? event.action
                matched = accepted.contains(event.action) || accepted.contains(action)
            case "scope":
                matched = accepted.contains(event.scope)
            case "label":
                matched = accepted.contains { LabelFilter.matches($0, in: event.attributes) }
            default:
                // container, image, volume, network, daemon: the actor by ID, ID prefix or name.
                guard event.type == key else { return false }
                let name = event.attributes["name"]
                matched = accepted.contains { wanted in
                    wanted == event.actorID || wanted == name || (wanted.count >= 3 && event.actorID.hasPrefix(wanted))
                }
            }
            if !matched { return false }
        }
        return true
    }
}

public enum EventFilterError: Error, Equatable, CustomStringConvertible {
    case unknownKey(String)
    case unknownType(String)

    public var description: String {
        switch self {
        case .unknownKey(let key): return "invalid filter '\(key)'"
        case .unknownType(let type): return "unknown event type \"\(type)\""
        }
    }
}
