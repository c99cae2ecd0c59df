/// An image manifest: one config and its layers in order (OCI, or Docker schema 2 which has the same shape).
public struct ImageManifest: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor]) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }
}

/// A list of manifests, one per platform (OCI image index or Docker manifest list).
public struct ImageIndex: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociIndex, manifests: [Descriptor]) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
    }

    /// The entry for `wanted`: exact platform first; for arm64 an entry without variant or `v8`.
    /// Entries that are not images (attestations, `unknown/unknown`) never match.
    public func manifest(for wanted: Platform) -> Descriptor? {
        manifests.first { entry in
            guard MediaType.manifestTypes.contains(entry.mediaType), let platform = entry.platform?.platform else {
                return false
            }
            return platform == wanted
        }
    }

    /// The platforms the index offers, for error messages.
    public var platforms: [Platform] {
        manifests.compactMap { entry in
            guard MediaType.manifestTypes.contains(entry.mediaType) else { return nil }
            return entry.platform?.platform
        }
    }
}

/// The fields Berth needs to tell a manifest from an index before decoding either.
public struct ManifestKind: Decodable {
    public var mediaType: String?
    public var manifests: [Descriptor]?
    public var config: Descriptor?

    /// The media type, falling back to the shape when a document omits it (OCI allows that).
    public var resolvedMediaType: String? {
        if let mediaType { return mediaType }
        if manifests != nil { return MediaType.ociIndex }
        if config != nil { return MediaType.ociManifest }
        return nil
    }
}
