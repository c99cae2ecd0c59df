import APIModels
import Engine
import Foundation
import NIOCore

/// `/volumes/*`: the local driver's volumes (create, list, inspect, remove, prune).
public enum VolumeRoutes {
    public static func register(on router: inout Router, containers: ContainerService) {
        router.add(.POST, "/volumes/create") { request in
            let body: VolumeCreateRequest
            do {
                body = request.body.readableBytes == 0
                    ? VolumeCreateRequest() : try JSONDecoder().decode(VolumeCreateRequest.self, from: Data(buffer: request.body))
            } catch {
                throw APIError.badRequest("invalid volume config: \(error)")
            }
            let volume = try await ContainerRoutes.mapErrors { try await containers.createVolume(body) }
            return .json(shape(volume, containers), status: .created)
        }
        router.add(.GET, "/volumes") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            for key in filters.keys where !["name", "label", "dangling", "driver"].contains(key) {
                throw APIError.badRequest("invalid filter '\(key)'")
            }
            let used = try await containers.volumesInUse()
            let volumes = try await containers.listVolumes().filter { volume in
                if let names = filters["name"], !names.contains(where: { volume.name.contains($0) }) { return false }
                if let drivers = filters["driver"], !drivers.contains("local") { return false }
                if let labels = filters["label"], !labels.allSatisfy({ LabelFilter.matches($0, in: volume.labels) }) { return false }
                if let dangling = filters["dangling"]?.first {
                    return used.contains(volume.name) != ["true", "1"].contains(dangling.lowercased())
                }
                return true
            }
            return .json(VolumeListResponse(Volumes: volumes.map { shape($0, containers) }))
        }
        router.add(.GET, "/volumes/{name}") { request in
            let name = request.parameters["name"] ?? ""
            return .json(shape(try await ContainerRoutes.mapErrors { try await containers.volume(name) }, containers))
        }
        router.add(.DELETE, "/volumes/{name}") { request in
            let name = request.parameters["name"] ?? ""
            try await ContainerRoutes.mapErrors { try await containers.removeVolume(name, force: request.queryFlag("force")) }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/volumes/prune") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            for key in filters.keys where !["label", "all"].contains(key) {
                throw APIError.badRequest("invalid filter '\(key)'")
            }
            let all = filters["all"]?.contains { ["true", "1"].contains($0.lowercased()) } ?? false
            let pruned = try await ContainerRoutes.mapErrors { try await containers.pruneVolumes(all: all, labels: filters["label"] ?? []) }
            return .json(VolumePruneResponse(VolumesDeleted: pruned.names, SpaceReclaimed: pruned.bytes))
        }
    }

    static func shape(_ volume: VolumeRecord, _ containers: ContainerService) -> Volume {
        Volume(Name: volume.name, Driver: "local", Mountpoint: containers.mountpoint(of: volume),
               CreatedAt: ContainerTime.rfc3339(volume.created), Labels: volume.labels, Options: [:])
    }
}
