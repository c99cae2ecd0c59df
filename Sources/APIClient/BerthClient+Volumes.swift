import APIModels
import Foundation
import NIOCore
import NIOHTTP1

extension BerthClient {
    public func createVolume(_ request: VolumeCreateRequest) async throws -> Volume {
        let body = try JSONEncoder().encode(request)
        return try await decode(try await send(method: .POST, path: "/volumes/create", query: [],
                                               headers: ["Content-Type": "application/json"], timeout: .seconds(60),
                                               body: .bytes(ByteBuffer(bytes: body))), path: "/volumes/create")
    }

    public func volumes(filters: [String: [String]]) async throws -> VolumeListResponse {
        let query = filters.isEmpty ? [] : [("filters", String(decoding: try JSONEncoder().encode(filters), as: UTF8.self))]
        return try await decode(try await send(path: "/volumes", query: query, timeout: .seconds(60)), path: "/volumes")
    }

    public func inspectVolumeRaw(_ name: String) async throws -> JSONValue {
        try await get("/volumes/\(name)")
    }

    public func removeVolume(_ name: String, force: Bool) async throws {
        _ = try await send(method: .DELETE, path: "/volumes/\(name)", query: force ? [("force", "1")] : [], headers: [:],
                           timeout: .seconds(120))
    }

    public func pruneVolumes(all: Bool, filters: [String: [String]]) async throws -> VolumePruneResponse {
        var filters = filters
        if all { filters["all"] = ["true"] }
        let query = filters.isEmpty ? [] : [("filters", String(decoding: try JSONEncoder().encode(filters), as: UTF8.self))]
        return try await decode(try await send(method: .POST, path: "/volumes/prune", query: query, headers: [:],
                                               timeout: .seconds(300)), path: "/volumes/prune")
    }
}
