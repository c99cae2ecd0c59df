/// One event on `GET /events`, in Docker's shape (with the legacy `status`/`id`/`from` fields).
public struct EventMessage: Codable, Sendable, Equatable {
    public struct EventActor: Codable, Sendable, Equatable {
        public var id: String
        public var attributes: [String: String]

        public init(id: String, attributes: [String: String]) {
            self.id = id
            self.attributes = attributes
        }

        enum CodingKeys: String, CodingKey {
            case id = "ID"
            case attributes = "Attributes"
        }
    }

    public var type: String
    public var action: String
    public var actor: EventActor
    public var scope: String
    /// Seconds since the epoch.
    public var time: Int64
    /// Nanoseconds since the epoch.
    public var timeNano: Int64
    public var status: String?
    public var id: String?
    public var from: String?

    public init(type: String, action: String, actor: EventActor, scope: String, timeNano: Int64) {
        self.type = type
        self.action = action
        self.actor = actor
        self.scope = scope
        self.time = timeNano / 1_000_000_000
        self.timeNano = timeNano
        // Docker fills the legacy fields for container and image events only.
        if type == "container" || type == "image" {
            self.status = action
            self.id = actor.id
            self.from = actor.attributes["image"]
        }
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type"
        case action = "Action"
        case actor = "Actor"
        case scope, time, timeNano, status, id, from
    }
}
