import CArchive
import Foundation
import OCI
import SystemSupport

/// `docker save` / `docker load` archives. Berth writes an OCI image layout plus Docker's
/// `manifest.json` in one tar (as Docker 25+ does), with blobs exactly as stored, so a saved and
/// loaded image keeps its ID and manifest digest. It reads that, plain OCI layouts, and classic
/// docker-archive tars (`<id>/layer.tar`, `<id>.json`).
public enum ImageArchive {
    /// One image to save: its record and the names to give it in the archive.
    public struct Entry: Sendable {
        public var image: ImageRecord
        public var names: [Reference]

        public init(image: ImageRecord, names: [Reference]) {
            self.image = image
            self.names = names
        }
    }

    /// One image found in an archive, its blobs on disk in the unpacked archive.
    public struct LoadedImage: Sendable {
        public var manifestData: Data
        public var manifestMediaType: String
        public var manifest: ImageManifest
        /// Blob files by digest; every digest is verified again when imported.
        public var blobFiles: [Digest: String]
        public var names: [Reference]
    }

    // MARK: Save

    public static func write(_ entries: [Entry], content: ContentStore, to path: String) throws {
        guard let archive = archive_write_new() else { throw UnpackError.library("archive_write_new failed") }
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        guard archive_write_open_filename(archive, path) == ARCHIVE_OK else {
            throw UnpackError.library("writing \(path): \(LayerUnpacker.message(archive))")
        }
        var written = Set<Digest>()
        var indexEntries: [Descriptor] = []
        var dockerManifest: [[String: Any]] = []
        try addFile(archive, name: "oci-layout", data: Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        try addDirectory(archive, name: "blobs/")
        try addDirectory(archive, name: "blobs/sha256/")
        for entry in entries {
            let image = entry.image
            let blobs = [image.manifestDigest, image.id] + image.layers.map(\.blob)
            for digest in blobs where written.insert(digest).inserted {
                try addBlob(archive, digest: digest, content: content)
            }
            let manifestSize = Int64(content.size(of: image.manifestDigest) ?? 0)
            let descriptor = Descriptor(mediaType: image.manifestMediaType, digest: image.manifestDigest, size: manifestSize,
                                        platform: DescriptorPlatform(image.platform))
            if entry.names.isEmpty {
                indexEntries.append(descriptor)
            }
            for name in entry.names {
                var named = descriptor
                named.annotations = ["io.containerd.image.name": name.description,
                                     "org.opencontainers.image.ref.name": name.tag ?? Reference.defaultTag]
                indexEntries.append(named)
            }
            dockerManifest.append([
                "Config": "blobs/sha256/\(image.id.encoded)",
                "RepoTags": entry.names.map(\.familiarDescription),
                "Layers": image.layers.map { "blobs/sha256/\($0.blob.encoded)" },
            ])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try addFile(archive, name: "index.json", data: try encoder.encode(ImageIndex(manifests: indexEntries)))
        try addFile(archive, name: "manifest.json",
                    data: try JSONSerialization.data(withJSONObject: dockerManifest, options: [.sortedKeys, .withoutEscapingSlashes]))
        guard archive_write_close(archive) == ARCHIVE_OK else {
            throw UnpackError.library("finishing \(path): \(LayerUnpacker.message(archive))")
        }
    }

    private static func header(_ name: String, size: Int64, type: UInt32, mode: mode_t) -> OpaquePointer {
        let entry = archive_entry_new()!
        archive_entry_copy_pathname(entry, name)
        archive_entry_set_size(entry, size)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode)
        archive_entry_set_mtime(entry, 0, 0)
        return entry
    }

    private static func addDirectory(_ archive: OpaquePointer, name: String) throws {
        let entry = header(name, size: 0, type: EntryType.directory, mode: 0o755)
        defer { archive_entry_free(entry) }
        try ArchiveOutput.writeHeader(archive, entry)
    }

    private static func addFile(_ archive: OpaquePointer, name: String, data: Data) throws {
        let entry = header(name, size: Int64(data.count), type: EntryType.regular, mode: 0o644)
        defer { archive_entry_free(entry) }
        try ArchiveOutput.writeHeader(archive, entry)
        try ArchiveOutput.write(data, to: archive)
    }

    private static func addBlob(_ archive: OpaquePointer, digest: Digest, content: ContentStore) throws {
        let path = content.path(of: digest)
        guard let size = content.size(of: digest), let handle = FileHandle(forReadingAtPath: path) else {
            throw ContentError.missing(digest)
        }
        defer { try? handle.close() }
        let entry = header("blobs/sha256/\(digest.encoded)", size: size, type: EntryType.regular, mode: 0o644)
        defer { archive_entry_free(entry) }
        try ArchiveOutput.writeHeader(archive, entry)
        try ArchiveOutput.copy(handle, to: archive)
    }

    // MARK: Load

    /// Unpacks an archive (any compression) into `directory`: regular files and directories only,
    /// every path checked to stay inside; symlinks (classic archives share layers through them)
    /// are kept only when relative and pointing inside.
    public static func extract(_ tarPath: String, into directory: String) throws {
        guard let archive = archive_read_new() else { throw UnpackError.library("archive_read_new failed") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_tar(archive)
        guard archive_read_open_filename(archive, tarPath, 1 << 20) == ARCHIVE_OK else {
            throw ArchiveError.unreadable(LayerUnpacker.message(archive))
        }
        let archiveDigest = try Digest(sha256: String(repeating: "0", count: 64))
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { break }
            guard status >= ARCHIVE_WARN, let entry else { throw ArchiveError.unreadable(LayerUnpacker.message(archive)) }
            let raw = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            let relative: String?
            do {
                relative = try LayerUnpacker.safeRelativePath(raw, layer: archiveDigest)
            } catch {
                throw ArchiveError.unsafePath(raw)
            }
            guard let path = relative else { continue }
            try LayerUnpacker.refuseSymlinkParents(of: path, root: directory, layer: archiveDigest, shownAs: raw)
            let target = directory + "/" + path
            switch archive_entry_filetype(entry) {
            case EntryType.directory:
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            case EntryType.regular:
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let descriptor = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else { throw ArchiveError.unsafePath(raw) }
                defer { close(descriptor) }
                guard archive_read_data_into_fd(archive, descriptor) == ARCHIVE_OK else {
                    throw ArchiveError.unreadable("\(raw): \(LayerUnpacker.message(archive))")
                }
            case EntryType.symlink:
                let link = archive_entry_symlink(entry).map { String(cString: $0) } ?? ""
                let resolved = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
                guard !link.hasPrefix("/"), (try? LayerUnpacker.safeRelativePath(resolved, layer: archiveDigest)) != nil else {
                    throw ArchiveError.unsafePath(raw)
                }
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                guard symlink(link, target) == 0 else { throw ArchiveError.unsafePath(raw) }
            default:
                throw ArchiveError.unsafePath(raw)
            }
        }
    }

    /// Finds the images in an extracted archive.
    public static func images(in directory: String) throws -> [LoadedImage] {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: directory + "/manifest.json") {
            return try dockerArchiveImages(directory)
        }
        if fileManager.fileExists(atPath: directory + "/index.json") {
            return try layoutImages(directory)
        }
        throw ArchiveError.notAnImageArchive
    }

    static func file(_ directory: String, _ relative: String) throws -> String {
        let checked: String?
        do {
            checked = try LayerUnpacker.safeRelativePath(relative, layer: Digest(sha256: String(repeating: "0", count: 64)))
        } catch {
            throw ArchiveError.unsafePath(relative)
        }
        guard let safe = checked else { throw ArchiveError.unsafePath(relative) }
        let path = directory + "/" + safe
        guard let real = realpath(path, nil) else { throw ArchiveError.missing(relative) }
        defer { free(real) }
        let resolved = String(cString: real)
        guard let root = realpath(directory, nil) else { throw ArchiveError.missing(directory) }
        defer { free(root) }
        guard resolved.hasPrefix(String(cString: root) + "/") else { throw ArchiveError.unsafePath(relative) }
        return resolved
    }

    /// Docker's `manifest.json`: config and layer files by path; the manifest is rebuilt unless an
    /// OCI index in the same archive has the original.
    static func dockerArchiveImages(_ directory: String) throws -> [LoadedImage] {
        struct Item: Decodable {
            var Config: String
            var RepoTags: [String]?
            var Layers: [String]
        }
        let items: [Item]
        do {
            items = try JSONDecoder().decode([Item].self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/manifest.json")))
        } catch {
            throw ArchiveError.invalid("manifest.json: \(error)")
        }
        let originals = (try? layoutImages(directory)) ?? []
        return try items.map { item in
            let configFile = try file(directory, item.Config)
            let configDigest = try digestOfFile(configFile)
            var blobFiles = [configDigest: configFile]
            var layers: [Descriptor] = []
            for layer in item.Layers {
                let path = try file(directory, layer)
                let digest = try digestOfFile(path)
                blobFiles[digest] = path
                layers.append(Descriptor(mediaType: try layerMediaType(path), digest: digest, size: fileSize(path)))
            }
            let names = try (item.RepoTags ?? []).map { try Reference(parsing: $0) }
            if var original = originals.first(where: { $0.manifest.config.digest == configDigest && $0.manifest.layers.map(\.digest) == layers.map(\.digest) }) {
                original.names = names
                return original
            }
            let manifest = ImageManifest(
                config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: fileSize(configFile)), layers: layers)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return LoadedImage(manifestData: try encoder.encode(manifest), manifestMediaType: MediaType.ociManifest,
                               manifest: manifest, blobFiles: blobFiles, names: names)
        }
    }

    /// An OCI image layout: images from `index.json`, following nested indexes.
    static func layoutImages(_ directory: String) throws -> [LoadedImage] {
        let index: ImageIndex
        do {
            index = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/index.json")))
        } catch {
            throw ArchiveError.invalid("index.json: \(error)")
        }
        var images: [LoadedImage] = []
        func visit(_ descriptor: Descriptor, names: [Reference]) throws {
            let path = try file(directory, "blobs/sha256/\(descriptor.digest.encoded)")
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard DigestHasher.digest(of: data) == descriptor.digest else {
                throw ArchiveError.invalid("blob \(descriptor.digest) does not match its digest")
            }
            if MediaType.indexTypes.contains(descriptor.mediaType) {
                let nested = try JSONDecoder().decode(ImageIndex.self, from: data)
                for child in nested.manifests where MediaType.manifestTypes.contains(child.mediaType) || MediaType.indexTypes.contains(child.mediaType) {
                    try visit(child, names: names)
                }
                return
            }
            let manifest = try JSONDecoder().decode(ImageManifest.self, from: data)
            var blobFiles: [Digest: String] = [:]
            for blob in [manifest.config] + manifest.layers {
                blobFiles[blob.digest] = try file(directory, "blobs/sha256/\(blob.digest.encoded)")
            }
            if let existing = images.firstIndex(where: { DigestHasher.digest(of: $0.manifestData) == descriptor.digest }) {
                images[existing].names += names
            } else {
                images.append(LoadedImage(manifestData: data, manifestMediaType: descriptor.mediaType, manifest: manifest,
                                          blobFiles: blobFiles, names: names))
            }
        }
        for descriptor in index.manifests {
            let name = descriptor.annotations?["io.containerd.image.name"].flatMap { try? Reference(parsing: $0) }
            try visit(descriptor, names: name.map { [$0] } ?? [])
        }
        return images
    }

    static func digestOfFile(_ path: String) throws -> Digest {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ArchiveError.missing(path) }
        defer { try? handle.close() }
        var hasher = DigestHasher()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(chunk) }
        return hasher.finalize()
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// A layer file's media type from its first bytes: gzip, zstd or a plain tar.
    static func layerMediaType(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ArchiveError.missing(path) }
        defer { try? handle.close() }
        let magic = [UInt8](try handle.read(upToCount: 4) ?? Data())
        if magic.starts(with: [0x1F, 0x8B]) { return MediaType.ociLayerGzip }
        if magic.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return MediaType.ociLayerZstd }
        return MediaType.ociLayer
    }
}

/// libarchive's entry types (`AE_IF*`, which are casts Swift does not import).
enum EntryType {
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
}

public enum ArchiveError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case unsafePath(String)
    case missing(String)
    case invalid(String)
    case notAnImageArchive

    public var description: String {
        switch self {
        case .unreadable(let detail): return "unreadable image archive: \(detail)"
        case .unsafePath(let path): return "image archive entry \"\(path)\" is not a plain file inside the archive"
        case .missing(let path): return "image archive lacks \(path)"
        case .invalid(let detail): return "invalid image archive: \(detail)"
        case .notAnImageArchive: return "not an image archive: it has neither manifest.json nor index.json"
        }
    }
}
