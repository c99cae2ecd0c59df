/// One repository a search found, in Docker's `/images/search` shape.
public struct SearchResult: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var star_count: Int
    public var is_official: Bool
    public var is_automated: Bool

    public init(name: String, description: String = "", star_count: Int = 0, is_official: Bool = false, is_automated: Bool = false) {
        self.name = name
        self.description = description
        self.star_count = star_count
        self.is_official = is_official
        self.is_automated = is_automated
    }
}
