import Foundation

/// Container names: validated when given, made up (`adjective_noun`) when not.
enum ContainerNames {
    /// Docker's rule: a letter or digit, then letters, digits, `_`, `.` or `-`.
    static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count >= 2 || name.count == 1 else { return false }
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        let alphanumeric = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return alphanumeric.contains(first) && name.unicodeScalars.allSatisfy(allowed.contains)
    }

    private static let adjectives = [
        "amber", "brisk", "calm", "dapper", "eager", "fearless", "gentle", "hardy", "idle", "jolly", "keen",
        "lucid", "mellow", "nimble", "opal", "plucky", "quiet", "rapid", "steady", "tidal", "upbeat", "vivid",
        "wistful", "young", "zesty", "salty", "foggy", "sunny", "windy", "brave",
    ]
    private static let nouns = [
        "anchor", "buoy", "cove", "dock", "estuary", "ferry", "galley", "harbor", "inlet", "jetty", "keel",
        "lagoon", "mooring", "narrows", "oar", "pier", "quay", "reef", "schooner", "tide", "umiak", "voyage",
        "wharf", "yawl", "zephyr", "lighthouse", "mast", "sloop", "rudder", "tugboat",
    ]

    static func random() -> String {
        "\(adjectives.randomElement()!)_\(nouns.randomElement()!)"
    }
}
