import APIModels
import Foundation
import NIOCore
import NIOHTTP1

extension BerthClient {
    public func createContainer(_ request: ContainerCreateRequest, name: String?, platform: String?) async throws
        -> ContainerCreateResponse
    {
        var query: [(String, String)] = []
        if let name { query.append(("name", name)) }
        if let platform { query.append(("platform", platform)) }
        let body = try JSONEncoder().encode(request)
        let response = try await send(method: .POST, path: "/containers/create", query: query,
                                      headers: ["Content-Type": "application/json"], timeout: .seconds(120),
                                      body: .bytes(ByteBuffer(bytes: body)))
        return try await decode(response, path: "/containers/create")
    }

    public func startContainer(_ id: String) async throws {
        _ = try await send(method: .POST, path: "/containers/\(id)/start", query: [], headers: [:], timeout: .seconds(120))
    }

    public func stopContainer(_ id: String, timeout: Int?, signal: String?) async throws {
        var query: [(String, String)] = []
        if let timeout { query.append(("t", String(timeout))) }
        if let signal { query.append(("signal", signal)) }
        _ = try await send(method: .POST, path: "/containers/\(id)/stop", query: query, headers: [:], timeout: nil)
    }

    public func restartContainer(_ id: String, timeout: Int?) async throws {
        _ = try await send(method: .POST, path: "/containers/\(id)/restart", query: timeout.map { [("t", String($0))] } ?? [],
                           headers: [:], timeout: nil)
    }

    public func killContainer(_ id: String, signal: String?) async throws {
        _ = try await send(method: .POST, path: "/containers/\(id)/kill", query: signal.map { [("signal", $0)] } ?? [],
                           headers: [:], timeout: .seconds(60))
    }

    /// `volumes`: its anonymous volumes go too (`rm -v`).
    public func removeContainer(_ id: String, force: Bool, volumes: Bool = false) async throws {
        var query: [(String, String)] = force ? [("force", "1")] : []
        if volumes { query.append(("v", "1")) }
        _ = try await send(method: .DELETE, path: "/containers/\(id)", query: query, headers: [:], timeout: .seconds(120))
    }

    public func containers(all: Bool, filters: [String: [String]]) async throws -> [ContainerSummary] {
        var query: [(String, String)] = all ? [("all", "1")] : []
        if !filters.isEmpty {
            query.append(("filters", String(decoding: try JSONEncoder().encode(filters), as: UTF8.self)))
        }
        return try await decode(try await send(path: "/containers/json", query: query, timeout: .seconds(60)),
                                path: "/containers/json")
    }

    public func inspectContainer(_ id: String) async throws -> ContainerInspect {
        try await get("/containers/\(id)/json")
    }

    public func inspectContainerRaw(_ id: String) async throws -> JSONValue {
        try await get("/containers/\(id)/json")
    }

    /// Blocks until the condition holds; returns the exit status.
    public func waitContainer(_ id: String, condition: String) async throws -> ContainerWaitResponse {
        try await beginWait(id, condition: condition).result()
    }

    /// Registers a wait and returns once the daemon has it (the response head), so the container
    /// can be started without its exit slipping by; `result()` then waits for the status.
    public func beginWait(_ id: String, condition: String) async throws -> PendingWait {
        let response = try await send(method: .POST, path: "/containers/\(id)/wait", query: [("condition", condition)],
                                      headers: [:], timeout: nil)
        return PendingWait(client: self, response: response, path: "/containers/\(id)/wait")
    }

    public struct PendingWait: Sendable {
        let client: BerthClient
        let response: DaemonExchange.Response
        let path: String

        public func result() async throws -> ContainerWaitResponse {
            try await client.decode(response, path: path)
        }
    }

    /// The log as Docker sends it: multiplexed frames unless the container has a tty.
    public func logs(_ id: String, follow: Bool, tail: String?, since: String?, until: String? = nil, timestamps: Bool)
        async throws -> ResponseBody
    {
        var query: [(String, String)] = [("stdout", "1"), ("stderr", "1")]
        if follow { query.append(("follow", "1")) }
        if let tail { query.append(("tail", tail)) }
        if let since { query.append(("since", since)) }
        if let until { query.append(("until", until)) }
        if timestamps { query.append(("timestamps", "1")) }
        return try await send(path: "/containers/\(id)/logs", query: query, timeout: nil).body
    }

    /// Attaches to a container's stdio over a hijacked connection.
    public func attach(_ id: String, stdin: Bool) async throws -> HijackedStream {
        let query = "stream=1&stdout=1&stderr=1" + (stdin ? "&stdin=1" : "")
        return try await HijackedStream.open(address: address, tls: tls, method: "POST",
                                             uri: "/v\(APIVersion.current)/containers/\(id)/attach?\(query)")
    }

    public func createExec(_ id: String, _ config: ExecConfig) async throws -> String {
        let response = try await send(method: .POST, path: "/containers/\(id)/exec", query: [],
                                      headers: ["Content-Type": "application/json"], timeout: .seconds(60),
                                      body: .bytes(ByteBuffer(bytes: try JSONEncoder().encode(config))))
        let created: IDResponse = try await decode(response, path: "/containers/\(id)/exec")
        return created.Id
    }

    public func startExecDetached(_ execID: String) async throws {
        _ = try await send(method: .POST, path: "/exec/\(execID)/start", query: [], headers: ["Content-Type": "application/json"],
                           timeout: .seconds(60), body: .bytes(ByteBuffer(bytes: try JSONEncoder().encode(ExecStartConfig(Detach: true)))))
    }

    public func startExecAttached(_ execID: String, tty: Bool) async throws -> HijackedStream {
        try await HijackedStream.open(address: address, tls: tls, method: "POST", uri: "/v\(APIVersion.current)/exec/\(execID)/start",
                                      body: try JSONEncoder().encode(ExecStartConfig(Detach: false, Tty: tty)))
    }

    public func inspectExec(_ execID: String) async throws -> ExecInspect {
        try await get("/exec/\(execID)/json")
    }

    public func resize(_ path: String, rows: Int, columns: Int) async throws {
        _ = try await send(method: .POST, path: path, query: [("h", String(rows)), ("w", String(columns))], headers: [:],
                           timeout: .seconds(10))
    }

    /// POST with no body and no answer worth decoding (pause, unpause, rename).
    /// `docker update`: new limits and restart policy for a container.
    public func update(_ id: String, _ update: ContainerUpdateRequest) async throws {
        _ = try await send(method: .POST, path: "/containers/\(id)/update", query: [], headers: ["Content-Type": "application/json"],
                           timeout: .seconds(120), body: .bytes(ByteBuffer(bytes: try JSONEncoder().encode(update))))
    }

    public func post(_ path: String, query: [(String, String)] = []) async throws {
        _ = try await send(method: .POST, path: path, query: query, headers: [:], timeout: .seconds(120))
    }

    public func commit(_ id: String, repository: String?, tag: String?, comment: String?, author: String?, changes: [String],
                       pause: Bool) async throws -> String {
        var query: [(String, String)] = [("container", id), ("pause", pause ? "1" : "0")]
        if let repository { query.append(("repo", repository)) }
        if let tag { query.append(("tag", tag)) }
        if let comment { query.append(("comment", comment)) }
        if let author { query.append(("author", author)) }
        for change in changes { query.append(("changes", change)) }
        let response = try await send(method: .POST, path: "/commit", query: query, headers: [:], timeout: nil)
        let created: IDResponse = try await decode(response, path: "/commit")
        return created.Id
    }

    public func top(_ id: String) async throws -> JSONValue {
        try await get("/containers/\(id)/top")
    }

    public func stats(_ id: String) async throws -> JSONValue {
        try await decode(try await send(path: "/containers/\(id)/stats", query: [("stream", "0")], timeout: .seconds(30)),
                         path: "/containers/\(id)/stats")
    }

    /// A reading about every second until the container stops or the stream is dropped.
    public func statsStream(_ id: String) async throws -> AsyncThrowingStream<JSONValue, Error> {
        jsonLines(try await send(path: "/containers/\(id)/stats", query: [("stream", "1")], timeout: nil), as: JSONValue.self) { _ in }
    }

    public func pruneContainers() async throws -> JSONValue {
        try await decode(try await send(method: .POST, path: "/containers/prune", query: [], headers: [:], timeout: nil),
                         path: "/containers/prune")
    }

    public func changes(_ id: String) async throws -> [JSONValue] {
        try await get("/containers/\(id)/changes")
    }

    /// A tar of `path` in the container, written to `output`.
    public func copyFrom(_ id: String, path: String, to output: FileHandle) async throws {
        let response = try await send(path: "/containers/\(id)/archive", query: [("path", path)], timeout: nil)
        for try await chunk in response.body { output.write(Data(chunk.readableBytesView)) }
    }

    /// Whether `path` in the container is a directory; nil when nothing is there.
    public func pathIsDirectory(_ id: String, path: String) async throws -> Bool? {
        let response: DaemonExchange.Response
        do {
            response = try await send(method: .HEAD, path: "/containers/\(id)/archive", query: [("path", path)], headers: [:],
                                      timeout: .seconds(60))
        } catch ClientError.daemon(status: 404, let message) where !message.hasPrefix("No such container") {
            return nil
        }
        guard let header = response.headers.first(name: "X-Docker-Container-Path-Stat"), let data = Data(base64Encoded: header),
              let stat = try? JSONDecoder().decode(ContainerPathStat.self, from: data) else {
            throw ClientError.malformedResponse("no path stat for \(path)")
        }
        return stat.mode & (1 << 31) != 0
    }

    /// Unpacks the tar at `archive` into the directory `path` of the container.
    public func copyTo(_ id: String, path: String, archive: String) async throws {
        let size = (try FileManager.default.attributesOfItem(atPath: archive)[.size] as? NSNumber)?.int64Value ?? 0
        _ = try await send(method: .PUT, path: "/containers/\(id)/archive", query: [("path", path)],
                           headers: ["Content-Type": "application/x-tar"], timeout: nil,
                           body: .file(path: archive, size: size))
    }

    public func export(_ id: String, to output: FileHandle) async throws {
        let response = try await send(path: "/containers/\(id)/export", query: [], timeout: nil)
        for try await chunk in response.body { output.write(Data(chunk.readableBytesView)) }
    }
}
