import APIModels
import Foundation
import NIOCore
import NIOHTTP1

/// A client of berthd's Docker-compatible API; the CLI talks to the daemon only through it.
public final class BerthClient: Sendable {
    public let address: DaemonAddress
    /// TLS on a tcp:// address; nil is plain HTTP.
    public let tls: ClientTLS?
    private let decoder = JSONDecoder()

    public init(address: DaemonAddress, tls: ClientTLS? = nil) {
        self.address = address
        self.tls = tls
    }

    /// Nothing to release: each request's connection closes when its response has been read.
    public func shutdown() async {}

    public func version() async throws -> SystemVersion {
        try await get("/version")
    }

    public func info() async throws -> SystemInfo {
        try await get("/info")
    }

    public func diskUsage() async throws -> DiskUsageReport {
        try await get("/system/df")
    }

    /// Events as they happen, ending when `until` passes or the daemon closes the stream.
    public func events(since: String?, until: String?, filters: [String: [String]]) async throws
        -> AsyncThrowingStream<EventMessage, Error>
    {
        var query: [(String, String)] = []
        if let since { query.append(("since", since)) }
        if let until { query.append(("until", until)) }
        if !filters.isEmpty {
            let data = try JSONEncoder().encode(filters)
            query.append(("filters", String(decoding: data, as: UTF8.self)))
        }
        let response = try await send(path: "/events", query: query, timeout: nil)
        return jsonLines(response, as: EventMessage.self) { _ in }
    }

    // MARK: Images

    /// Pulls, yielding Docker's progress messages; an `error` message ends the stream with a throw.
    public func pull(_ reference: String, platform: String?, registryAuth: String?) async throws
        -> AsyncThrowingStream<ProgressMessage, Error>
    {
        var query = [("fromImage", reference)]
        if let platform { query.append(("platform", platform)) }
        var headers = HTTPHeaders()
        if let registryAuth { headers.add(name: "X-Registry-Auth", value: registryAuth) }
        let response = try await send(method: .POST, path: "/images/create", query: query, headers: headers, timeout: nil)
        return jsonLines(response, as: ProgressMessage.self) { message in
            if let error = message.error { throw ClientError.daemon(status: 500, message: error) }
        }
    }

    /// Pushes `reference` (`registry/repository[:tag]`), yielding Docker's progress messages.
    public func push(_ reference: String, tag: String?, registryAuth: String?) async throws
        -> AsyncThrowingStream<ProgressMessage, Error>
    {
        var headers = HTTPHeaders()
        if let registryAuth { headers.add(name: "X-Registry-Auth", value: registryAuth) }
        let response = try await send(method: .POST, path: "/images/\(reference)/push", query: tag.map { [("tag", $0)] } ?? [],
                                      headers: headers, timeout: nil)
        return jsonLines(response, as: ProgressMessage.self) { message in
            if let error = message.error { throw ClientError.daemon(status: 500, message: error) }
        }
    }

    /// Builds from a context archive (`POST /build`), yielding the build's output, its image's ID
    /// (`aux`), and throwing the build's error.
    public func build(contextArchive path: String, query: [(String, String)]) async throws -> AsyncThrowingStream<ProgressMessage, Error> {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber else {
            throw ClientError.malformedResponse("cannot read \(path)")
        }
        let response = try await send(method: .POST, path: "/build", query: query, headers: ["Content-Type": "application/x-tar"],
                                      timeout: nil, body: .file(path: path, size: size.int64Value))
        return jsonLines(response, as: ProgressMessage.self) { message in
            if let error = message.error { throw ClientError.daemon(status: 500, message: error) }
        }
    }

    /// Streams `docker save` output for `names` into `output`.
    public func save(_ names: [String], to output: FileHandle) async throws {
        let response = try await send(method: .GET, path: "/images/get", query: names.map { ("names", $0) }, headers: [:], timeout: nil)
        for try await chunk in response.body {
            try output.write(contentsOf: Data(chunk.readableBytesView))
        }
    }

    /// Uploads an image archive; returns the daemon's `Loaded image: ...` lines.
    public func load(from path: String) async throws -> [String] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.int64Value else {
            throw ClientError.malformedResponse("cannot read \(path)")
        }
        let response = try await send(
            method: .POST, path: "/images/load", query: [], headers: ["Content-Type": "application/x-tar"], timeout: nil,
            body: .file(path: path, size: size))
        let body = try await response.body.collect(upTo: 16 << 20)
        struct Line: Decodable { var stream: String?; var error: String? }
        let lines = String(buffer: body).split(separator: "\n").compactMap { try? decoder.decode(Line.self, from: Data($0.utf8)) }
        if let error = lines.compactMap(\.error).first { throw ClientError.daemon(status: 400, message: error) }
        return lines.compactMap { $0.stream?.trimmingCharacters(in: .newlines) }
    }

    /// `docker import`: uploads a root filesystem tar as a new image; returns its ID.
    public func importImage(from path: String, repository: String?, message: String, changes: [String], platform: String?)
        async throws -> String
    {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.int64Value else {
            throw ClientError.malformedResponse("cannot read \(path)")
        }
        var query: [(String, String)] = [("fromSrc", "-"), ("message", message)]
        if let repository { query.append(("repo", repository)) }
        if let platform { query.append(("platform", platform)) }
        query += changes.map { ("changes", $0) }
        let response = try await send(
            method: .POST, path: "/images/create", query: query, headers: ["Content-Type": "application/x-tar"], timeout: nil,
            body: .file(path: path, size: size))
        let body = try await response.body.collect(upTo: 1 << 20)
        struct Line: Decodable { var status: String?; var error: String? }
        let lines = String(buffer: body).split(separator: "\n").compactMap { try? decoder.decode(Line.self, from: Data($0.utf8)) }
        if let error = lines.compactMap(\.error).first { throw ClientError.daemon(status: 500, message: error) }
        guard let id = lines.last?.status else { throw ClientError.malformedResponse("import answered no image ID") }
        return id
    }

    /// Asks berthd to check credentials against a registry (`POST /auth`).
    public func login(server: String, username: String, password: String) async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password, "serveraddress": server])
        let response = try await send(method: .POST, path: "/auth", query: [], headers: ["Content-Type": "application/json"],
                                      timeout: .seconds(120), body: .bytes(ByteBuffer(bytes: body)))
        struct Status: Decodable { var Status: String }
        let status: Status = try await decode(response, path: "/auth")
        return status.Status
    }

    public func pruneImages(all: Bool) async throws -> (deleted: [String], reclaimed: Int64) {
        let filters = all ? [("filters", #"{"dangling":["false"]}"#)] : []
        struct Report: Decodable { var ImagesDeleted: [ImageDeleteItem]?; var SpaceReclaimed: Int64 }
        let report: Report = try await decode(
            try await send(method: .POST, path: "/images/prune", query: filters, headers: [:], timeout: .seconds(600)),
            path: "/images/prune")
        return ((report.ImagesDeleted ?? []).compactMap(\.Deleted), report.SpaceReclaimed)
    }

    public func images() async throws -> [ImageSummary] {
        try await get("/images/json")
    }

    /// `GET /images/search`: Docker Hub for a bare term, a registry's catalog for `host[:port]/term`.
    public func searchImages(_ term: String, limit: Int, filters: [String: [String]], registryAuth: String?) async throws -> [ImageSearchResult] {
        var query = [("term", term), ("limit", "\(limit)")]
        if !filters.isEmpty { query.append(("filters", String(decoding: try JSONEncoder().encode(filters), as: UTF8.self))) }
        var headers = HTTPHeaders()
        if let registryAuth { headers.add(name: "X-Registry-Auth", value: registryAuth) }
        return try await decode(try await send(method: .GET, path: "/images/search", query: query, headers: headers, timeout: .seconds(120)),
                                path: "/images/search")
    }

    public func inspectImage(_ name: String) async throws -> JSONValue {
        try await get("/images/\(name)/json")
    }

    public func removeImage(_ name: String, force: Bool) async throws -> [ImageDeleteItem] {
        try await decode(try await send(method: .DELETE, path: "/images/\(name)", query: force ? [("force", "1")] : [],
                                        headers: [:], timeout: .seconds(300)), path: name)
    }

    public func tagImage(_ source: String, repository: String, tag: String?) async throws {
        var query = [("repo", repository)]
        if let tag { query.append(("tag", tag)) }
        _ = try await send(method: .POST, path: "/images/\(source)/tag", query: query, headers: [:], timeout: .seconds(60))
    }

    public func history(_ name: String) async throws -> [JSONValue] {
        try await get("/images/\(name)/history")
    }

    // MARK: Plumbing

    func get<Value: Decodable>(_ path: String) async throws -> Value {
        try await decode(try await send(path: path, query: [], timeout: .seconds(60)), path: path)
    }

    func decode<Value: Decodable>(_ response: DaemonExchange.Response, path: String) async throws -> Value {
        let body = try await response.body.collect(upTo: 64 << 20)
        do {
            return try decoder.decode(Value.self, from: Data(body.readableBytesView))
        } catch {
            throw ClientError.malformedResponse("\(path): \(error)")
        }
    }

    /// Decodes a stream of newline-separated JSON objects; `check` may end it with an error.
    func jsonLines<Value: Decodable & Sendable>(
        _ response: DaemonExchange.Response, as type: Value.Type, check: @escaping @Sendable (Value) throws -> Void
    ) -> AsyncThrowingStream<Value, Error> {
        let decoder = decoder
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var pending = Data()
                    for try await chunk in response.body {
                        pending.append(contentsOf: chunk.readableBytesView)
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = pending[pending.startIndex..<newline]
                            pending = Data(pending[pending.index(after: newline)...])
                            guard !line.isEmpty else { continue }
                            let value = try decoder.decode(Value.self, from: line)
                            try check(value)
                            continuation.yield(value)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    func send(path: String, query: [(String, String)], timeout: TimeAmount?) async throws -> DaemonExchange.Response {
        try await send(method: .GET, path: path, query: query, headers: [:], timeout: timeout)
    }

    /// Sends a request to the versioned path; turns error statuses into `ClientError.daemon`.
    func send(method: HTTPMethod, path: String, query: [(String, String)], headers: HTTPHeaders,
                      timeout: TimeAmount?, body: DaemonExchange.RequestBody? = nil) async throws -> DaemonExchange.Response {
        var components = URLComponents()
        components.path = "/v\(APIVersion.current)\(path)"
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        let uri = components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let response = try await DaemonExchange.send(to: address, tls: tls, method: method, uri: uri, headers: headers, body: body,
                                                     timeout: timeout)
        guard (200..<300).contains(response.status) else {
            let body = try await response.body.collect(upTo: 1 << 20)
            let message = (try? decoder.decode(ErrorResponse.self, from: Data(body.readableBytesView)))?.message
                ?? String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ClientError.daemon(status: response.status, message: message)
        }
        return response
    }
}
