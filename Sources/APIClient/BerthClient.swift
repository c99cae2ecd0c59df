import APIModels
import AsyncHTTPClient
import Foundation
import NIOCore

/// A client of berthd's Docker-compatible API; the CLI talks to the daemon only through it.
public final class BerthClient: Sendable {
    public let address: DaemonAddress
    private let http: HTTPClient
    private let decoder = JSONDecoder()

    public init(address: DaemonAddress) {
        self.address = address
        http = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    public func version() async throws -> SystemVersion {
        try await get("/version")
    }

    public func info() async throws -> SystemInfo {
        try await get("/info")
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
                            continuation.yield(try decoder.decode(EventMessage.self, from: line))
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

    func get<Value: Decodable>(_ path: String) async throws -> Value {
        let response = try await send(path: path, query: [], timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        do {
            return try decoder.decode(Value.self, from: Data(body.readableBytesView))
        } catch {
            throw ClientError.malformedResponse("\(path): \(error)")
        }
    }

    /// Sends a GET to the versioned path; turns error statuses into `ClientError.daemon`.
    private func send(path: String, query: [(String, String)], timeout: TimeAmount?) async throws -> HTTPClientResponse {
        var components = URLComponents()
        components.path = "/v\(APIVersion.current)\(path)"
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        let uri = components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let url: String
        switch address {
        case .unix(let socketPath):
            guard let socketURL = URL(httpURLWithSocketPath: socketPath, uri: uri) else {
                throw ClientError.unreachable(address, reason: "socket path cannot be used in a URL")
            }
            url = socketURL.absoluteString
        case .tcp(let host, let port):
            url = "http://\(host):\(port)\(uri)"
        }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "berth-cli/\(BerthVersion.version)")
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout ?? .hours(24 * 365))
        } catch let error as IOError {
            throw ClientError.unreachable(address, reason: String(cString: strerror(error.errnoCode)))
        } catch {
            throw ClientError.unreachable(address, reason: "\(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            let body = try await response.body.collect(upTo: 1 << 20)
            let message = (try? decoder.decode(ErrorResponse.self, from: Data(body.readableBytesView)))?.message
                ?? String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ClientError.daemon(status: Int(response.status.code), message: message)
        }
        return response
    }
}
