import Dispatch
import Foundation

/// Milliseconds spent in each step of an operation, for debug logs.
struct PhaseTimer {
    private var last = DispatchTime.now().uptimeNanoseconds
    private var phases: [(String, Double)] = []

    mutating func mark(_ phase: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        phases.append((phase, Double(now - last) / 1_000_000))
        last = now
    }

    /// Milliseconds since boot, to line up events of different tasks in debug logs.
    static var uptime: String { String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000) }

    var summary: String {
        phases.map { "\($0.0)=\(String(format: "%.1f", $0.1))" }.joined(separator: " ")
    }
}
