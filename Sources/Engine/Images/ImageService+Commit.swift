import APIModels
import Foundation
import ImageStore
import OCI

extension ImageService {
    /// What a commit records besides the new layer.
    public struct CommitDetails: Sendable {
        /// The container's settings the new image starts with (Cmd, Entrypoint, Env, …).
        public var config: ContainerConfig
        public var comment: String
        public var author: String
        public var createdBy: String

        public init(config: ContainerConfig, comment: String, author: String, createdBy: String) {
            self.config = config
            self.comment = comment
            self.author = author
            self.createdBy = createdBy
        }
    }

    /// A new image: `base` plus the upper directory of a container as one more layer.
    public func commit(base: ImageRecord, upperDirectory: String, details: CommitDetails, name: Reference?,
                       placeholders: Set<String>) async throws -> ImageRecord {
        try await derive(base: base, platform: base.platform, layerDirectory: upperDirectory, details: details, name: name,
                         placeholders: placeholders)
    }

    /// A new image: `base` plus a layer already written as a tar at `layerArchive` (a VM
    /// container's changes, which its guest agent wrote in OCI's layer format).
    public func commit(base: ImageRecord, layerArchive: String, details: CommitDetails, name: Reference?) async throws -> ImageRecord {
        try await derive(base: base, platform: base.platform, layerDirectory: nil, layerArchive: layerArchive, details: details, name: name)
    }

    /// A new image on `base` (nil: an empty image of `platform`, as FROM scratch starts): one more
    /// layer holding `layerDirectory`'s tree (a container's upper directory, or files staged by a
    /// build), or with nil only new settings and a history entry marked as adding no layer.
    /// `event` is the image event it publishes (`commit`, `import`).
    /// `layerArchive`, instead of a directory: that layer's tar as written elsewhere.
    public func derive(base: ImageRecord?, platform: Platform, layerDirectory: String?, layerArchive: String? = nil, details: CommitDetails,
                       name: Reference?, placeholders: Set<String> = [], event: String = "commit") async throws -> ImageRecord {
        // What this call added to the store goes again if it fails: a full disk must not keep the
        // space a failed commit took.
        let made = AddedContent()
        do {
            return try await derive(base: base, platform: platform, layerDirectory: layerDirectory, layerArchive: layerArchive,
                                    details: details, name: name, placeholders: placeholders, event: event, made: made)
        } catch {
            discard(made)
            throw error
        }
    }

    private func derive(base: ImageRecord?, platform: Platform, layerDirectory: String?, layerArchive: String?, details: CommitDetails,
                        name: Reference?, placeholders: Set<String>, event: String, made: AddedContent) async throws -> ImageRecord {
        var layers: [Descriptor] = []
        var diffIDs = base?.layers.map(\.diffID) ?? []
        var size = base?.size ?? 0
        if layerDirectory != nil || layerArchive != nil {
            let scratch = snapshots.root + "/.ingest-commit-\(UUID().uuidString).tar"
            defer { unlink(scratch) }
            let layer = try await runBlocking {
                if let layerArchive { return try LayerWriter.measure(layerArchive) }
                return try LayerWriter.write(directory: layerDirectory ?? "", to: scratch, placeholders: placeholders)
            }
            if !content.contains(layer.digest) {
                // A directory's layer was written on the store's filesystem: moved in, not copied.
                if let layerArchive {
                    try content.importFile(layerArchive, expected: layer.digest)
                } else {
                    try content.adopt(scratch, expected: layer.digest)
                }
                made.blobs.append(layer.digest)
            }
            layers.append(Descriptor(mediaType: MediaType.ociLayer, digest: layer.digest, size: layer.size))
            diffIDs.append(layer.digest)
            let chainID = SnapshotStore.chainIDs(diffIDs).last!
            let snapshots = snapshots, unpacker = unpacker, content = content
            let created = try await runBlocking {
                try snapshots.create(chainID, blob: content.path(of: layer.digest), layer: layer.digest,
                                     diffID: layer.digest, unpacker: unpacker)
            }
            if created { made.snapshot = chainID }
            size += snapshots.size(chainID)
        }
        let chainIDs = SnapshotStore.chainIDs(diffIDs)

        // The base config as stored, so fields Berth does not model survive.
        var config: [String: JSONValue]
        if let base {
            guard case .object(let stored) = try JSONDecoder().decode(JSONValue.self, from: content.read(base.id)) else {
                throw ImageError.conflict("the base image's config is not a JSON object")
            }
            config = stored
        } else {
            config = ["architecture": .string(platform.architecture), "os": .string(platform.os),
                      "rootfs": .object(["type": .string("layers"), "diff_ids": .array([])])]
            if let variant = platform.variant { config["variant"] = .string(variant) }
        }
        let now = ContainerTime.rfc3339(Date())
        config["created"] = .string(now)
        if !details.author.isEmpty { config["author"] = .string(details.author) }
        config["config"] = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(ImageSettings(details.config)))
        if case .object(var rootfs) = config["rootfs"] ?? .null {
            rootfs["diff_ids"] = .array(diffIDs.map { .string($0.description) })
            config["rootfs"] = .object(rootfs)
        }
        var history: [JSONValue] = { if case .array(let entries) = config["history"] ?? .null { return entries } else { return [] } }()
        var entry: [String: JSONValue] = ["created": .string(now), "created_by": .string(details.createdBy)]
        if !details.comment.isEmpty { entry["comment"] = .string(details.comment) }
        if !details.author.isEmpty { entry["author"] = .string(details.author) }
        if layerDirectory == nil { entry["empty_layer"] = .bool(true) }
        history.append(.object(entry))
        config["history"] = .array(history)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let configData = try encoder.encode(JSONValue.object(config))
        let configDigest = try made.write(configData, to: content)

        let baseLayers = try base.map { try JSONDecoder().decode(ImageManifest.self, from: content.read($0.manifestDigest)).layers } ?? []
        var manifest = ImageManifest(
            mediaType: MediaType.ociManifest,
            config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configData.count)),
            layers: baseLayers + layers)
        manifest.annotations = nil
        let manifestData = try encoder.encode(manifest)
        let manifestDigest = try made.write(manifestData, to: content)
        let decoded = try decodeConfig(configDigest)
        var record = Self.record(manifest: manifest, digest: manifestDigest, mediaType: MediaType.ociManifest, config: decoded,
                                 chainIDs: chainIDs, size: size)
        record.created = now
        record.parent = base?.id
        try catalog.add(record, tag: name?.withDefaultTag, repoDigest: nil)
        await events.publish(EngineEvent(type: "image", action: event, actorID: configDigest.description,
                                         attributes: name.map { ["name": $0.withDefaultTag.description] } ?? [:]))
        return try catalog.image(id: configDigest) ?? record
    }

    /// Blobs and a snapshot a failed commit added, unless an image names them by now.
    private func discard(_ made: AddedContent) {
        guard let referenced = try? catalog.referenced() else { return }
        for blob in made.blobs where !referenced.blobs.contains(blob) { content.delete(blob) }
        if let snapshot = made.snapshot, !referenced.chainIDs.contains(snapshot) { snapshots.remove(snapshot) }
    }
}

/// What one commit added to the store (not what was there already), to take away if it fails.
private final class AddedContent: @unchecked Sendable {
    var blobs: [Digest] = []
    var snapshot: Digest?

    func write(_ data: Data, to content: ContentStore) throws -> Digest {
        let digest = DigestHasher.digest(of: data)
        guard !content.contains(digest) else { return digest }
        try content.write(data)
        blobs.append(digest)
        return digest
    }
}

/// The image config's `config` object: the container settings an image carries.
private struct ImageSettings: Encodable {
    var User: String?
    var ExposedPorts: [String: JSONValue]?
    var Env: [String]?
    var Entrypoint: [String]?
    var Cmd: [String]?
    var Volumes: [String: JSONValue]?
    var WorkingDir: String?
    var Labels: [String: String]?
    var StopSignal: String?
    var Healthcheck: HealthConfig?
    var OnBuild: [String]?
    var Shell: [String]?

    init(_ config: ContainerConfig) {
        User = config.User.flatMap { $0.isEmpty ? nil : $0 }
        ExposedPorts = config.ExposedPorts
        Env = config.Env
        Entrypoint = config.Entrypoint?.values
        Cmd = config.Cmd?.values
        Volumes = config.Volumes
        WorkingDir = config.WorkingDir.flatMap { $0.isEmpty ? nil : $0 }
        Labels = config.Labels.flatMap { $0.isEmpty ? nil : $0 }
        StopSignal = config.StopSignal
        Healthcheck = config.Healthcheck
        OnBuild = config.OnBuild.flatMap { $0.isEmpty ? nil : $0 }
        Shell = config.Shell
    }
}

/// Docker's time format: RFC 3339 in UTC with nanoseconds.
public enum ContainerTime {
    public static func rfc3339(_ date: Date?) -> String {
        guard let date else { return "0001-01-01T00:00:00Z" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let whole = formatter.string(from: date).dropLast()
        let nanoseconds = Int((date.timeIntervalSince1970 - floor(date.timeIntervalSince1970)) * 1_000_000_000)
        return "\(whole).\(String(format: "%09d", nanoseconds))Z"
    }
}
