import APIModels
import Foundation
import NIOCore
import NIOHTTP1

extension BerthClient {
    public func createNetwork(_ request: NetworkCreateRequest) async throws -> NetworkCreateResponse {
        try await decode(try await post("/networks/create", request), path: "/networks/create")
    }

    public func networks(filters: [String: [String]]) async throws -> [NetworkResource] {
        let query = filters.isEmpty ? [] : [("filters", String(decoding: try JSONEncoder().encode(filters), as: UTF8.self))]
        return try await decode(try await send(path: "/networks", query: query, timeout: .seconds(60)), path: "/networks")
    }

    public func inspectNetworkRaw(_ reference: String) async throws -> JSONValue {
        try await get("/networks/\(reference)")
    }

    public func removeNetwork(_ reference: String) async throws {
        _ = try await send(method: .DELETE, path: "/networks/\(reference)", query: [], headers: [:], timeout: .seconds(120))
    }

    public func pruneNetworks(filters: [String: [String]]) async throws -> NetworkPruneResponse {
        let query = filters.isEmpty ? [] : [("filters", String(decoding: try JSONEncoder().encode(filters), as: UTF8.self))]
        return try await decode(try await send(method: .POST, path: "/networks/prune", query: query, headers: [:],
                                               timeout: .seconds(300)), path: "/networks/prune")
    }

    public func connect(_ container: String, to network: String, endpoint: EndpointSettings?) async throws {
        _ = try await post("/networks/\(network)/connect", NetworkConnectRequest(Container: container, EndpointConfig: endpoint))
    }

    public func disconnect(_ container: String, from network: String, force: Bool) async throws {
        _ = try await post("/networks/\(network)/disconnect", NetworkDisconnectRequest(Container: container, Force: force))
    }

    private func post(_ path: String, _ body: some Encodable) async throws -> DaemonExchange.Response {
        try await send(method: .POST, path: path, query: [], headers: ["Content-Type": "application/json"], timeout: .seconds(120),
                       body: .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body))))
    }
}
