import Foundation

/// A network namespace of the test's own with only loopback up: a registry and a berthd started
/// in it reach each other on 127.0.0.1 and nothing else, so a pull that falls back from a mirror
/// to Docker Hub fails at once instead of reaching the internet.
final class IsolatedNetwork: @unchecked Sendable {
    let name: String

    init() throws {
        name = "berth-t-" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        try Command.succeed(["ip", "netns", "add", name])
        do {
            try Command.succeed(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"])
        } catch {
            tearDown()
            throw error
        }
    }

    /// `arguments` run inside the namespace.
    func command(_ arguments: [String]) -> [String] {
        ["ip", "netns", "exec", name] + arguments
    }

    /// Removes the namespace: its bridges, veths and iptables rules go with it.
    func tearDown() {
        _ = try? Command.run(["ip", "netns", "delete", name])
    }

    static func with<T>(_ body: (IsolatedNetwork) async throws -> T) async throws -> T {
        let network = try IsolatedNetwork()
        defer { network.tearDown() }
        return try await body(network)
    }
}
