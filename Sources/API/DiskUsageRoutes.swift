import APIModels
import Engine
import Foundation

/// `GET /system/df` (`docker system df`): images, containers, volumes and the build cache, with
/// the bytes each holds; `type` narrows it to some of them.
public enum DiskUsageRoutes {
    public static func register(on router: inout Router, containers: ContainerService) {
        router.add(.GET, "/system/df") { request in
            let types = Set(request.query["type"] ?? [])
            for type in types where !["image", "container", "volume", "build-cache"].contains(type) {
                throw APIError.badRequest("unknown object type: \(type)")
            }
            let wants = { (type: String) in types.isEmpty || types.contains(type) }
            let usage = try await ContainerRoutes.mapErrors {
                try await containers.diskUsage(images: wants("image"), containers: wants("container"), volumes: wants("volume"))
            }
            let networks = try await containers.networks.listNetworks()
            return .json(DiskUsageReport(
                LayersSize: usage.layersSize,
                Images: usage.images,
                Containers: usage.containers.map { entry in
                    var summary = ContainerRoutes.summary(entry.record, paths: containers.paths, networks: networks)
                    summary.SizeRw = entry.writable
                    summary.SizeRootFs = entry.total
                    return summary
                },
                Volumes: usage.volumes.map { entry in
                    var volume = VolumeRoutes.shape(entry.record, containers)
                    volume.UsageData = .init(Size: entry.size, RefCount: Int64(entry.users))
                    return volume
                }))
        }
    }
}
