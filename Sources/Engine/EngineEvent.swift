import Foundation

/// Something that happened in the engine, as published on the event bus.
public struct EngineEvent: Sendable, Equatable {
    /// Docker's event types: container, image, volume, network, daemon, …
    public var type: String
    public var action: String
    public var actorID: String
    public var attributes: [String: String]
    public var scope: String
    /// Nanoseconds since the epoch; unique and increasing on one bus.
    public var timeNano: Int64

    public init(type: String, action: String, actorID: String, attributes: [String: String] = [:],
                scope: String = "local", timeNano: Int64 = 0) {
        self.type = type
        self.action = action
        self.actorID = actorID
        self.attributes = attributes
        self.scope = scope
        self.timeNano = timeNano
    }
}
