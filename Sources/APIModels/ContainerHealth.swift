import Foundation

/// `State.Health` of a container with a healthcheck: its status, the failures in a row, and the
/// last probes (at most five, oldest first), in Docker's shape.
public struct ContainerHealth: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Started, no verdict yet (or only failures within the start period).
        case starting
        case healthy
        case unhealthy
    }

    public var Status: Status
    public var FailingStreak: Int
    public var Log: [HealthcheckResult]

    public init(Status: Status = .starting, FailingStreak: Int = 0, Log: [HealthcheckResult] = []) {
        self.Status = Status
        self.FailingStreak = FailingStreak
        self.Log = Log
    }
}

/// One probe: when it ran, how it exited (-1 when it timed out or could not start) and the start
/// of what it printed.
public struct HealthcheckResult: Codable, Sendable, Equatable {
    public var Start: String
    public var End: String
    public var ExitCode: Int
    public var Output: String

    public init(Start: String, End: String, ExitCode: Int, Output: String) {
        self.Start = Start
        self.End = End
        self.ExitCode = ExitCode
        self.Output = Output
    }
}
