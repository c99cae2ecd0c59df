/// Docker's `label=key` and `label=key=value` filters, the same for containers, volumes and events.
public enum LabelFilter {
    public static func matches(_ filter: String, in labels: [String: String]) -> Bool {
        let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
        guard let key = parts.first, let value = labels[key] else { return false }
        return parts.count == 1 || value == parts[1]
    }
}
