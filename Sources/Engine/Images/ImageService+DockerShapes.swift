import APIModels
import Foundation
import ImageStore
import OCI

/// Images in the Engine API's shapes, so that the routes need not know the image store's records.
extension ImageService {
    /// `GET /images/json`'s entries, in the order of `list()`, those `include` keeps.
    public func summaries(where include: (ImageListing) -> Bool = { _ in true }) throws -> [ImageSummary] {
        try list().filter { include(ImageListing($0)) }.map { image in
            let config = try? config(of: image)
            var summary = ImageSummary(
                Id: image.id.description, RepoTags: image.tags.map(Reference.familiar),
                RepoDigests: image.repoDigests.map(Reference.familiar), Created: Self.epochSeconds(image.created), Size: image.size,
                Labels: config?.config?.Labels, Platform: image.platform.description)
            summary.ParentId = image.parent?.description ?? ""
            return summary
        }
    }

    /// `GET /images/{name}/json`.
    public func inspect(_ name: String, platform: Platform?) throws -> ImageInspect {
        let image = try ImageError.translatingErrors { try resolve(name, platform: platform) }
        let raw = try JSONDecoder().decode(JSONValue.self, from: rawConfig(of: image))
        let snapshotPaths = image.layers.reversed().map { snapshots.diffPath($0.chainID) }
        var inspect = ImageInspect(
            Id: image.id.description, RepoTags: image.tags.map(Reference.familiar), RepoDigests: image.repoDigests.map(Reference.familiar),
            Created: image.created ?? "", Author: raw["author"]?.stringValue ?? "",
            Config: Self.dockerShapedConfig(raw["config"]), Architecture: image.platform.architecture, Variant: image.platform.variant,
            Os: image.platform.os, Size: image.size,
            GraphDriver: .init(Name: "overlay2", Data: ["LowerDir": snapshotPaths.joined(separator: ":")]),
            RootFS: .init(Layers: image.layers.map(\.diffID.description)))
        inspect.Parent = image.parent?.description ?? ""
        return inspect
    }

    /// The image's `config` with every key dockerd shows, absent ones at their empty values, since
    /// clients index them directly (docker-py reads `Config.OnBuild`).
    static func dockerShapedConfig(_ config: JSONValue?) -> JSONValue {
        var fields: [String: JSONValue] = [
            "Hostname": .string(""), "Domainname": .string(""), "User": .string(""),
            "AttachStdin": .bool(false), "AttachStdout": .bool(false), "AttachStderr": .bool(false),
            "Tty": .bool(false), "OpenStdin": .bool(false), "StdinOnce": .bool(false),
            "Env": .null, "Cmd": .null, "Image": .string(""), "Volumes": .null, "WorkingDir": .string(""),
            "Entrypoint": .null, "OnBuild": .null, "Labels": .null,
        ]
        if case .object(let present) = config { fields.merge(present) { $1 } }
        return .object(fields)
    }

    /// `GET /images/{name}/history`: newest first; the entry that made a layer carries the image ID
    /// on the top one, `<missing>` below.
    public func history(_ name: String, platform: Platform?) throws -> [ImageHistoryItem] {
        let image = try ImageError.translatingErrors { try resolve(name, platform: platform) }
        let config = try config(of: image)
        var layerSizes = image.layers.map { snapshots.size($0.chainID) }.makeIterator()
        var items = (config.history ?? []).map { entry -> ImageHistoryItem in
            let size = entry.empty_layer == true ? 0 : (layerSizes.next() ?? 0)
            return ImageHistoryItem(Id: "<missing>", Created: Self.epochSeconds(entry.created), CreatedBy: entry.created_by ?? "",
                                    Tags: nil, Size: size, Comment: entry.comment ?? "")
        }
        items.reverse()
        if !items.isEmpty {
            items[0].Id = image.id.description
            items[0].Tags = image.tags.map(Reference.familiar)
        }
        return items
    }

    static func epochSeconds(_ rfc3339: String?) -> Int64 {
        guard let rfc3339 else { return 0 }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let date = formatter.date(from: rfc3339) ?? ISO8601DateFormatter().date(from: rfc3339)
        return Int64(date?.timeIntervalSince1970 ?? 0)
    }
}

/// What `GET /images/json`'s filters look at in an image.
public struct ImageListing: Sendable {
    public var id: Digest
    /// Full references (`docker.io/library/alpine:latest`); none for a dangling image.
    public var tags: [String]

    init(_ image: ImageRecord) {
        id = image.id
        tags = image.tags
    }
}
