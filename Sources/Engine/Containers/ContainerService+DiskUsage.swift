import APIModels
import Foundation
import ImageStore
import OCI

extension ContainerService {
    /// What `docker system df` reports: the images' layers (shared ones counted once), each image
    /// with the containers using it and the bytes it shares with other images, each container's
    /// writable and total bytes, and each volume's bytes and users.
    public struct DiskUsage: Sendable {
        public var layersSize: Int64
        public var images: [ImageSummary]
        public var containers: [(record: ContainerRecord, writable: Int64, total: Int64)]
        public var volumes: [(record: VolumeRecord, size: Int64, users: Int)]
    }

    public func diskUsage(images wantImages: Bool = true, containers wantContainers: Bool = true,
                          volumes wantVolumes: Bool = true) throws -> DiskUsage {
        let records = try catalog.all()
        var usage = DiskUsage(layersSize: 0, images: [], containers: [], volumes: [])
        if wantImages {
            let stored = try images.list()
            var holders: [String: Int] = [:]
            for image in stored { for layer in image.layers { holders[layer.chainID.description, default: 0] += 1 } }
            var sizes: [String: Int64] = [:]
            for chainID in holders.keys {
                sizes[chainID] = (try? Digest(parsing: chainID)).map { images.snapshots.size($0) } ?? 0
            }
            usage.layersSize = sizes.values.reduce(0, +)
            let users = Dictionary(grouping: records, by: \.imageID).mapValues(\.count)
            let layersByImage = Dictionary(stored.map { ($0.id.description, $0.layers) }) { first, _ in first }
            usage.images = try images.summaries().map { summary in
                var summary = summary
                summary.Containers = Int64(users[summary.Id] ?? 0)
                let layers = layersByImage[summary.Id] ?? []
                summary.SharedSize = layers.filter { (holders[$0.chainID.description] ?? 0) > 1 }
                    .reduce(0) { $0 + (sizes[$1.chainID.description] ?? 0) }
                return summary
            }
        }
        if wantContainers {
            usage.containers = records.map { record in
                let sizes = sizes(record)
                return (record, sizes.writable, sizes.total)
            }
        }
        if wantVolumes {
            let mounted = records.flatMap { $0.state.mounts ?? [] }.compactMap(\.volume)
            let users = Dictionary(grouping: mounted, by: { $0 }).mapValues(\.count)
            usage.volumes = try volumes.all().map { ($0, volumes.size($0.name), users[$0.name] ?? 0) }
        }
        return usage
    }
}
