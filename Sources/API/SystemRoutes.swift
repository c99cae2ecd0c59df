import APIModels
import Engine
import Foundation
import HostModel
import NIOCore
import NIOHTTP1

/// `/_ping`, `/version`, `/info` and `/events`.
public enum SystemRoutes {
    public static func register(on router: inout Router, context: DaemonContext) {
        router.add(.GET, "/_ping") { _ in ping() }
        router.add(.HEAD, "/_ping") { _ in ping() }
        router.add(.GET, "/version") { _ in
            .json(await version(host: context.host.report))
        }
        router.add(.GET, "/info") { _ in
            .json(try await InfoBuilder.info(context: context))
        }
        router.add(.GET, "/events") { request in
            try await events(request, bus: context.events)
        }
    }

    static func ping() -> HTTPResponse {
        var response = HTTPResponse.text("OK")
        response.headers.add(name: "Builder-Version", value: "1")
        response.headers.add(name: "Swarm", value: "inactive")
        response.headers.add(name: "Cache-Control", value: "no-cache, no-store, must-revalidate")
        response.headers.add(name: "Pragma", value: "no-cache")
        return response
    }

    static func version(host: HostReport) -> SystemVersion {
        let arch = host.hostPlatform.architecture
        let details = [
            "ApiVersion": APIVersion.current.description,
            "MinAPIVersion": APIVersion.minimum.description,
            "Os": "linux",
            "Arch": arch,
            "KernelVersion": host.kernelVersion,
        ]
        return SystemVersion(
            Platform: .init(Name: "Berth"),
            Components: [.init(Name: "Engine", Version: BerthVersion.version, Details: details)],
            Version: BerthVersion.version,
            ApiVersion: APIVersion.current.description,
            MinAPIVersion: APIVersion.minimum.description,
            GitCommit: BuildInfo.gitCommit,
            GoVersion: BuildInfo.compiler,
            Os: "linux",
            Arch: arch,
            KernelVersion: host.kernelVersion,
            Experimental: false,
            BuildTime: BuildInfo.buildTime)
    }

    /// Streams events as newline-separated JSON objects, as Docker does.
    static func events(_ request: HTTPRequest, bus: EventBus) async throws -> HTTPResponse {
        let filter = try parseEventFilters(request.queryValue("filters"))
        let now = Date()
        let since = try request.queryValue("since").map { try parseTimestamp($0, now: now, name: "since") }
        let until = try request.queryValue("until").map { try parseTimestamp($0, now: now, name: "until") }
        let events = await bus.subscribe(filter: filter, since: since, until: until)
        let chunks = AsyncStream<ByteBuffer> { continuation in
            let task = Task {
                let encoder = HTTPResponse.encoder
                for await event in events {
                    let message = EventMessage(
                        type: event.type, action: event.action,
                        actor: .init(id: event.actorID, attributes: event.attributes),
                        scope: event.scope, timeNano: event.timeNano)
                    guard var data = try? encoder.encode(message) else { continue }
                    data.append(UInt8(ascii: "\n"))
                    continuation.yield(ByteBuffer(bytes: data))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .stream(chunks))
    }

    static func parseEventFilters(_ text: String?) throws -> EventFilter {
        let values = try QueryFilters.parse(text).mapValues(Set.init)
        do {
            return try EventFilter(values)
        } catch {
            throw APIError.badRequest("\(error)")
        }
    }

    /// Docker's timestamps: Unix seconds with optional fraction, RFC 3339, or a Go duration back from now.
    static func parseTimestamp(_ text: String, now: Date, name: String) throws -> Int64 {
        if let seconds = Decimal(string: text), text.allSatisfy({ $0.isNumber || $0 == "." }) {
            return NSDecimalNumber(decimal: seconds * 1_000_000_000).int64Value
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) {
            return Int64(date.timeIntervalSince1970 * 1_000_000_000)
        }
        if let duration = parseDuration(text) {
            return Int64((now.timeIntervalSince1970 - duration) * 1_000_000_000)
        }
        throw APIError.badRequest("invalid value for \(name): \(text)")
    }

    /// `10m`, `1h30m`, `45s`, `500ms`.
    static func parseDuration(_ text: String) -> TimeInterval? {
        let units: [(String, Double)] = [("ms", 0.001), ("h", 3600), ("m", 60), ("s", 1)]
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isNumber || $0 == "." })
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            total += value * unit.1
            rest = rest.dropFirst(unit.0.count)
        }
        return total
    }
}
