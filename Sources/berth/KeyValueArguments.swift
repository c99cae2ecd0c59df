import ArgumentParser

/// Repeated `key=value` command-line arguments, as Docker's CLI reads them.
enum KeyValueArguments {
    /// `--filter name=value`: the `filters` query parameter, several values per name.
    static func filters(_ items: [String]) throws -> [String: [String]] {
        var filters: [String: [String]] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("bad format of filter (expected name=value): \(item)")
            }
            filters[parts[0], default: []].append(parts[1])
        }
        return filters
    }

    /// `--label key[=value]`: a missing value is empty; the last of a key wins.
    static func labels(_ items: [String]) -> [String: String] {
        Dictionary(items.map { item in
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
        }, uniquingKeysWith: { $1 })
    }
}
