import Foundation

/// Docker's `filters` query parameter: `{"key":["value",...]}`, or the legacy `{"key":{"value":true}}`.
enum QueryFilters {
    static func parse(_ text: String?) throws -> [String: [String]] {
        guard let text, !text.isEmpty else { return [:] }
        let data = Data(text.utf8)
        if let lists = try? JSONDecoder().decode([String: [String]].self, from: data) { return lists }
        if let maps = try? JSONDecoder().decode([String: [String: Bool]].self, from: data) {
            return maps.mapValues { $0.filter(\.value).map(\.key).sorted() }
        }
        throw APIError.badRequest("invalid filters: \(text)")
    }
}
