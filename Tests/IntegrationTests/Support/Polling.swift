import Foundation

/// Asks `check` until it answers or `seconds` pass, and always once more at the end: a test
/// process whose threads were all busy may wake from its sleep past the deadline, and the
/// answer that arrived meanwhile must still count.
func poll<Answer>(
    seconds: TimeInterval, every interval: Duration = .milliseconds(100), _ check: () async throws -> Answer?
) async throws -> Answer? {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        let pastDeadline = Date() >= deadline
        if let answer = try await check() { return answer }
        if pastDeadline { return nil }
        try await Task.sleep(for: interval)
    }
}
