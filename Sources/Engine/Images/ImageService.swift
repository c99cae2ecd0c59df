import APIModels
import Foundation
import ImageStore
import Logging
import NIOCore
import OCI
import Registry
import SystemSupport

/// Images: pull from registries, name, inspect, remove, collect garbage.
///
/// A pull downloads missing blobs in parallel (each verified while it streams), unpacks layers in
/// order as soon as each is present, and records the image only when everything is in place, so
/// a pull cut short at any point leaves no reference to missing content.
public final class ImageService: Sendable {
    public let content: ContentStore
    public let snapshots: SnapshotStore
    public let catalog: ImageCatalog
    private let registry: RegistryClient
    let unpacker: LayerUnpacker
    let events: EventBus
    public let hostPlatform: Platform
    private let parallelDownloads = 3
    /// Image IDs containers are made from; those are never deleted.
    private let imagesInUse: @Sendable () throws -> Set<String>

    public init(content: ContentStore, snapshots: SnapshotStore, catalog: ImageCatalog, registry: RegistryClient,
                unpacker: LayerUnpacker = LayerUnpacker(), events: EventBus, hostPlatform: Platform,
                imagesInUse: @escaping @Sendable () throws -> Set<String> = { [] }) {
        self.imagesInUse = imagesInUse
        self.content = content
        self.snapshots = snapshots
        self.catalog = catalog
        self.registry = registry
        self.unpacker = unpacker
        self.events = events
        self.hostPlatform = hostPlatform
    }

    // MARK: Pull

    public func pull(
        _ requested: Reference, platform requestedPlatform: Platform?, credentials: RegistryCredentials?,
        progress: @escaping @Sendable (PullProgress) -> Void
    ) async throws -> ImageRecord {
        let reference = requested.withDefaultTag
        let platform = requestedPlatform ?? hostPlatform

        let top: RegistryClient.FetchedManifest
        do {
            top = try await registry.manifest(reference, credentials: credentials)
        } catch let error as RegistryError {
            throw ImageError.pullFailed(reference, error)
        }
        progress(.started(reference.tag ?? reference.digest?.description ?? Reference.defaultTag))
        var manifestFetch = top
        var document = try Self.document(top, of: reference)
        if case .index(let index) = document {
            guard let entry = index.manifest(for: platform) else {
                throw RegistryError.noMatchingPlatform(reference: reference.description, wanted: platform, available: index.platforms)
            }
            var byDigest = reference
            byDigest.tag = nil
            byDigest.digest = entry.digest
            manifestFetch = try await registry.manifest(byDigest, credentials: credentials)
            document = try Self.document(manifestFetch, of: reference)
        }
        guard case .manifest(let manifest) = document else {
            throw RegistryError.badManifest("\(reference): an index where its entry should be an image manifest")
        }

        try await fetch(manifest.config, from: reference, source: manifestFetch.source, credentials: credentials, progress: nil)
        let config = try decodeConfig(manifest.config.digest)
        if requestedPlatform != nil, config.platform != platform {
            throw ImageError.platformMismatch(reference.description, wanted: platform, actual: config.platform)
        }
        guard config.rootfs.diff_ids.count == manifest.layers.count else {
            throw RegistryError.badManifest("\(reference): \(manifest.layers.count) layers but \(config.rootfs.diff_ids.count) diff IDs in the config")
        }
        let chainIDs = SnapshotStore.chainIDs(config.rootfs.diff_ids)

        let size = try await fetchAndUnpack(
            manifest.layers, chainIDs: chainIDs, diffIDs: config.rootfs.diff_ids, from: reference,
            source: manifestFetch.source, credentials: credentials, progress: progress)

        try content.write(manifestFetch.data, expected: manifestFetch.digest)
        let existing = try catalog.image(id: manifest.config.digest)
        let record = Self.record(manifest: manifest, digest: manifestFetch.digest, mediaType: manifestFetch.mediaType,
                                 config: config, chainIDs: chainIDs, size: size)
        var repoDigest = reference
        repoDigest.tag = nil
        repoDigest.digest = top.digest
        try catalog.add(record, tag: reference.tag != nil ? reference : nil, repoDigest: repoDigest)
        await events.publish(EngineEvent(type: "image", action: "pull", actorID: reference.familiarDescription,
                                         attributes: ["name": reference.familiarDescription, "platform": config.platform.description]))
        progress(.finished(digest: top.digest, reference: reference.familiarDescription, newImage: existing == nil))
        return try catalog.image(id: record.id) ?? record
    }

    /// Downloads missing layer blobs, `parallelDownloads` at a time, and unpacks them in order as soon
    /// as each one and all below it are present. Returns the unpacked size of the whole image.
    private func fetchAndUnpack(
        _ layers: [Descriptor], chainIDs: [Digest], diffIDs: [Digest], from reference: Reference,
        source: RegistryEndpoint, credentials: RegistryCredentials?, progress: @escaping @Sendable (PullProgress) -> Void
    ) async throws -> Int64 {
        // As Docker: a layer already unpacked here is "Already exists" and nothing more.
        let alreadyHere = Set(layers.indices.filter { content.contains(layers[$0].digest) && snapshots.contains(chainIDs[$0]) })
        for (index, layer) in layers.enumerated() {
            progress(alreadyHere.contains(index) ? .layerPresent(layer.digest) : .layerQueued(layer.digest))
        }
        return try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            func startNext() {
                guard next < layers.count else { return }
                let index = next
                next += 1
                group.addTask {
                    try await self.fetch(layers[index], from: reference, source: source, credentials: credentials, progress: progress)
                    return index
                }
            }
            for _ in 0..<parallelDownloads { startNext() }
            var present = Set<Int>()
            var unpacked = 0
            var total: Int64 = 0
            while let finished = try await group.next() {
                present.insert(finished)
                startNext()
                while present.contains(unpacked) {
                    let layer = layers[unpacked]
                    let chainID = chainIDs[unpacked]
                    let diffID = diffIDs[unpacked]
                    if !snapshots.contains(chainID) {
                        progress(.extracting(layer.digest))
                        try await unpack(layer, chainID: chainID, diffID: diffID)
                    }
                    total += snapshots.size(chainID)
                    if !alreadyHere.contains(unpacked) { progress(.layerDone(layer.digest)) }
                    unpacked += 1
                }
            }
            return total
        }
    }

    /// Unpacks a layer blob into its snapshot, off the cooperative threads; a present snapshot is kept.
    private func unpack(_ layer: Descriptor, chainID: Digest, diffID: Digest) async throws {
        let blob = content.path(of: layer.digest)
        let snapshots = snapshots
        let unpacker = unpacker
        try await runBlocking {
            try snapshots.create(chainID, blob: blob, layer: layer.digest, diffID: diffID, unpacker: unpacker)
        }
    }

    static func record(manifest: ImageManifest, digest: Digest, mediaType: String, config: ImageConfig,
                       chainIDs: [Digest], size: Int64) -> ImageRecord {
        ImageRecord(
            id: manifest.config.digest, manifestDigest: digest, manifestMediaType: mediaType,
            platform: config.platform, created: config.created, size: size,
            layers: zip(manifest.layers, zip(config.rootfs.diff_ids, chainIDs)).map { layer, ids in
                LayerRecord(blob: layer.digest, mediaType: layer.mediaType, blobSize: layer.size, diffID: ids.0, chainID: ids.1)
            })
    }

    /// Makes sure a blob is in the content store, downloading it if needed, from the host that
    /// served the manifest first.
    private func fetch(_ descriptor: Descriptor, from reference: Reference, source: RegistryEndpoint?, credentials: RegistryCredentials?,
                       progress: (@Sendable (PullProgress) -> Void)?) async throws {
        if content.contains(descriptor.digest) { return }
        let content = content
        let reporter = DownloadReporter(digest: descriptor.digest, total: descriptor.size, progress: progress)
        try await registry.blob(descriptor, repository: reference, source: source, credentials: credentials) {
            ReportingSink(writer: try content.ingest(descriptor), reporter: reporter)
        }
        progress?(.downloaded(descriptor.digest))
    }

    func decodeConfig(_ digest: Digest) throws -> ImageConfig {
        do {
            return try JSONDecoder().decode(ImageConfig.self, from: content.read(digest))
        } catch let error as ContentError {
            throw error
        } catch {
            throw RegistryError.badManifest("image config \(digest): \(error)")
        }
    }

    // MARK: Push

    /// Pushes the image `name` (`registry/repository[:tag]`) with its exact manifest, so the digest the
    /// registry reports is the one Berth holds. Blobs the registry has are skipped, blobs another
    /// repository of the same registry has are mounted, the rest uploaded in parallel.
    public func push(
        _ name: Reference, credentials: RegistryCredentials?, progress: @escaping @Sendable (PushProgress) -> Void
    ) async throws -> Digest {
        let reference = name.withDefaultTag
        guard let tag = reference.tag else { throw ImageError.invalidTag(reference.description) }
        let image = try resolve(reference.description)
        let manifestData = try content.read(image.manifestDigest)
        let manifest: ImageManifest
        do {
            manifest = try JSONDecoder().decode(ImageManifest.self, from: manifestData)
        } catch {
            throw RegistryError.badManifest("stored manifest \(image.manifestDigest): \(error)")
        }
        let mountFrom = (image.tags + image.repoDigests).compactMap { try? Reference(parsing: $0) }
            .first { $0.domain == reference.domain && $0.path != reference.path }?.path

        let blobs = manifest.layers + [manifest.config]
        for blob in blobs { progress(.preparing(blob.digest)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for blob in blobs {
                guard content.contains(blob.digest) else { throw ContentError.missing(blob.digest) }
                let file = content.path(of: blob.digest)
                group.addTask {
                    let result = try await self.registry.pushBlob(
                        blob, file: file, repository: reference, mountFrom: mountFrom, credentials: credentials
                    ) { sent in progress(.pushing(blob.digest, current: sent, total: blob.size)) }
                    switch result {
                    case .alreadyExists: progress(.alreadyExists(blob.digest))
                    case .mounted(let source): progress(.mounted(blob.digest, from: source))
                    case .uploaded: progress(.pushed(blob.digest))
                    }
                }
            }
            try await group.waitForAll()
        }
        let digest = try await registry.pushManifest(
            manifestData, mediaType: image.manifestMediaType, repository: reference, tag: tag, credentials: credentials)
        var repoDigest = reference
        repoDigest.tag = nil
        repoDigest.digest = digest
        try catalog.add(image, tag: nil, repoDigest: repoDigest)
        await events.publish(EngineEvent(type: "image", action: "push", actorID: reference.familiarDescription,
                                         attributes: ["name": reference.familiarDescription]))
        progress(.finished(tag: tag, digest: digest, size: manifestData.count))
        return digest
    }

    // MARK: Save and load

    /// Writes the named images (docker-archive + OCI layout in one tar) to `path`.
    public func save(_ names: [String], to path: String) async throws {
        var entries: [ImageArchive.Entry] = []
        for name in names {
            let image = try resolve(name)
            let reference = (try? Reference(parsing: name)).flatMap { $0.digest == nil ? $0.withDefaultTag : nil }
            let names = reference.map { [$0] } ?? image.tags.compactMap { try? Reference(parsing: $0) }
            if let existing = entries.firstIndex(where: { $0.image.id == image.id }) {
                entries[existing].names += names
            } else {
                entries.append(ImageArchive.Entry(image: image, names: names))
            }
        }
        let content = content
        let ready = entries
        try await runBlocking { try ImageArchive.write(ready, content: content, to: path) }
    }

    /// Loads every image in the archive at `path`, using `scratch` (an empty directory) to unpack it.
    /// Returns Docker's lines: `Loaded image: NAME` per name, `Loaded image ID: ID` for unnamed ones.
    public func load(archive path: String, scratch: String) async throws -> [String] {
        try await runBlocking { try ImageArchive.extract(path, into: scratch) }
        let loaded = try ImageArchive.images(in: scratch)
        var messages: [String] = []
        for image in loaded {
            let content = content
            try await runBlocking {
                for (digest, file) in image.blobFiles where !content.contains(digest) {
                    try content.importFile(file, expected: digest)
                }
            }
            let manifestDigest = try content.write(image.manifestData)
            let config = try decodeConfig(image.manifest.config.digest)
            guard config.rootfs.diff_ids.count == image.manifest.layers.count else {
                throw ArchiveError.invalid("image \(image.manifest.config.digest): \(image.manifest.layers.count) layers but \(config.rootfs.diff_ids.count) diff IDs")
            }
            let chainIDs = SnapshotStore.chainIDs(config.rootfs.diff_ids)
            var size: Int64 = 0
            for (position, layer) in image.manifest.layers.enumerated() {
                try await unpack(layer, chainID: chainIDs[position], diffID: config.rootfs.diff_ids[position])
                size += snapshots.size(chainIDs[position])
            }
            let record = Self.record(manifest: image.manifest, digest: manifestDigest, mediaType: image.manifestMediaType,
                                     config: config, chainIDs: chainIDs, size: size)
            try catalog.add(record, tag: nil, repoDigest: nil)
            for name in image.names {
                try catalog.add(record, tag: name.withDefaultTag, repoDigest: nil)
                messages.append("Loaded image: \(name.withDefaultTag.familiarDescription)")
            }
            if image.names.isEmpty { messages.append("Loaded image ID: \(record.id)") }
            await events.publish(EngineEvent(type: "image", action: "load", actorID: record.id.description,
                                             attributes: ["name": image.names.first?.familiarDescription ?? record.id.description]))
        }
        return messages
    }

    // MARK: Names, inspection, removal

    public func list() throws -> [ImageRecord] {
        try catalog.all()
    }

    public func resolve(_ name: String, platform: Platform? = nil) throws -> ImageRecord {
        try catalog.resolve(name, platform: platform, hostPlatform: hostPlatform)
    }

    /// The image's merged files, read-only, while `body` runs: its only layer's directory, or an
    /// overlay of its layers mounted under the snapshot store; nil for no image or one without layers.
    public func withMergedRoot<T>(_ image: ImageRecord?, _ body: (String?) throws -> T) throws -> T {
        guard let image, !image.layers.isEmpty else { return try body(nil) }
        let layers = image.layers.reversed().map { snapshots.diffPath($0.chainID) }
        if layers.count == 1 { return try body(layers[0]) }
        let mountPoint = snapshots.root + "/.merged-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { rmdir(mountPoint) }
        // Read-only: overlay needs no upper directory for that.
        guard mount("overlay", mountPoint, "overlay", UInt(MS_RDONLY), "lowerdir=" + layers.joined(separator: ":")) == 0 else {
            throw ImageError.conflict("mounting the image's files: \(SystemError.text(errno))")
        }
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        return try body(mountPoint)
    }

    public func config(of image: ImageRecord) throws -> ImageConfig {
        try decodeConfig(image.id)
    }

    /// The config as stored, for inspect output that must not lose fields Berth does not model.
    public func rawConfig(of image: ImageRecord) throws -> Data {
        try content.read(image.id)
    }

    public func tag(_ source: String, as target: Reference) async throws {
        guard target.digest == nil else { throw ImageError.invalidTag(target.description) }
        let image = try resolve(source)
        try catalog.add(image, tag: target.withDefaultTag, repoDigest: nil)
        await events.publish(EngineEvent(type: "image", action: "tag", actorID: image.id.description,
                                         attributes: ["name": target.withDefaultTag.familiarDescription]))
    }

    /// Docker's `rmi`: untags the name; deletes the image when no name is left (or when forced).
    public func remove(_ name: String, force: Bool) async throws -> [ImageDeletion] {
        let image = try resolve(name)
        let inUse = try imagesInUse().contains(image.id.description)
        let namedReference = try? Reference(parsing: name)
        let isOneOfSeveralNames = namedReference.map { image.tags.contains($0.withDefaultTag.description) } == true
            && image.tags.count + image.repoDigests.count > 1
        // Untagging one of several names leaves the image as it is: containers may use it.
        if inUse && !force && !isOneOfSeveralNames {
            throw ImageError.conflict(
                "unable to remove repository reference \"\(name)\" (must force) - a container is using its referenced image \(image.id.shortID)")
        }
        var deletions: [ImageDeletion] = []
        let byName = (try? Reference(parsing: name)).map { reference in
            image.tags.contains(reference.withDefaultTag.description) || image.repoDigests.contains(reference.description)
        } ?? false
        if byName, let reference = try? Reference(parsing: name) {
            if try catalog.untag(reference, imageID: image.id) {
                deletions.append(.untagged((reference.digest == nil ? reference.withDefaultTag : reference).familiarDescription))
                await events.publish(EngineEvent(type: "image", action: "untag", actorID: image.id.description,
                                                 attributes: ["name": reference.familiarDescription]))
            }
            let remaining = try catalog.image(id: image.id)
            // An image a container runs from stays, nameless, until that container is gone.
            if let remaining, !remaining.tags.isEmpty || inUse { return deletions }
        } else if image.tags.count > 1 && !force {
            throw ImageError.conflict("unable to delete \(image.id.shortID) (must be forced) - image is referenced in multiple repositories")
        }
        if inUse {
            throw ImageError.conflict("unable to delete \(image.id.shortID) (cannot be forced) - image is being used by a container")
        }
        let current = try catalog.image(id: image.id) ?? image
        for name in current.tags + current.repoDigests { deletions.append(.untagged(Reference.familiar(name))) }
        try catalog.delete(image.id)
        deletions.append(.deleted(image.id.description))
        await events.publish(EngineEvent(type: "image", action: "delete", actorID: image.id.description,
                                         attributes: ["name": name]))
        try collectGarbage()
        return deletions
    }

    /// Removes images no container uses: untagged ones, or with `all` every one; answers dockerd's
    /// report, each removed name (`Untagged`) before its image (`Deleted`).
    public func prune(all: Bool) async throws -> (deleted: [ImageDeleteItem], freed: Int64) {
        var deleted: [ImageDeleteItem] = []
        let inUse = try imagesInUse()
        for image in try catalog.all() where (all || image.tags.isEmpty) && !inUse.contains(image.id.description) {
            try catalog.delete(image.id)
            deleted += (image.tags + image.repoDigests).map { ImageDeleteItem(Untagged: Reference.familiar($0)) }
            deleted.append(ImageDeleteItem(Deleted: image.id.description))
            await events.publish(EngineEvent(type: "image", action: "delete", actorID: image.id.description,
                                             attributes: ["name": image.id.description]))
        }
        return (deleted, try collectGarbage())
    }

    /// What a registry offers under a name: the descriptor and, for an index, its platforms.
    public func distribution(_ reference: Reference, credentials: RegistryCredentials?) async throws
        -> (descriptor: Descriptor, platforms: [Platform])
    {
        let fetched = try await registry.manifest(reference.withDefaultTag, credentials: credentials)
        let descriptor = Descriptor(mediaType: fetched.mediaType, digest: fetched.digest, size: Int64(fetched.data.count))
        let manifest: ImageManifest
        switch try Self.document(fetched, of: reference) {
        case .index(let index): return (descriptor, index.platforms)
        case .manifest(let single): manifest = single
        }
        try await fetch(manifest.config, from: reference, source: fetched.source, credentials: credentials, progress: nil)
        return (descriptor, [try decodeConfig(manifest.config.digest).platform])
    }

    /// The registry's document decoded and checked, or Docker's "invalid manifest" naming the reference.
    private static func document(_ fetched: RegistryClient.FetchedManifest, of reference: Reference) throws -> ManifestDocument {
        do {
            return try ManifestDocument(data: fetched.data, mediaType: fetched.mediaType)
        } catch {
            throw RegistryError.badManifest("\(reference): \(error)")
        }
    }

    /// Removes blobs and snapshots no image refers to; returns the bytes freed.
    @discardableResult
    public func collectGarbage() throws -> Int64 {
        let referenced = try catalog.referenced()
        var freed: Int64 = 0
        for digest in content.allDigests() where !referenced.blobs.contains(digest) {
            freed += content.size(of: digest) ?? 0
            content.delete(digest)
        }
        for chainID in snapshots.all() where !referenced.chainIDs.contains(chainID) {
            freed += snapshots.size(chainID)
            snapshots.remove(chainID)
        }
        return freed
    }
}

public enum ImageDeletion: Sendable, Equatable {
    case untagged(String)
    case deleted(String)
}

/// Reports download progress about every 512 KiB.
final class DownloadReporter: @unchecked Sendable {
    let digest: Digest
    let total: Int64
    let progress: (@Sendable (PullProgress) -> Void)?
    private var lastReported: Int64 = 0

    init(digest: Digest, total: Int64, progress: (@Sendable (PullProgress) -> Void)?) {
        self.digest = digest
        self.total = total
        self.progress = progress
    }

    func advanced(to current: Int64) {
        guard let progress, current - lastReported >= 512 << 10 || current == total else { return }
        lastReported = current
        progress(.downloading(digest, current: current, total: total))
    }
}

/// A blob writer that also reports progress.
final class ReportingSink: BlobSink {
    let writer: BlobWriter
    let reporter: DownloadReporter

    init(writer: BlobWriter, reporter: DownloadReporter) {
        self.writer = writer
        self.reporter = reporter
    }

    func write(_ bytes: ByteBufferView) throws {
        try writer.write(bytes)
        reporter.advanced(to: writer.written)
    }

    func commit() throws { try writer.commit() }
    func abort() { writer.abort() }
}
