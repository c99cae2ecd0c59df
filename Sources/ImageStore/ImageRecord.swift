import OCI

/// An image Berth holds: one platform's manifest, its config and its layers, with the names it goes by.
public struct ImageRecord: Sendable, Equatable {
    /// The config digest, Docker's image ID.
    public var id: Digest
    public var manifestDigest: Digest
    public var manifestMediaType: String
    public var platform: Platform
    /// The config's `created`, RFC 3339.
    public var created: String?
    /// Bytes of the unpacked layers.
    public var size: Int64
    public var layers: [LayerRecord]
    /// `repository:tag` names.
    public var tags: [String]
    /// `repository@sha256:...` names.
    public var repoDigests: [String]

    /// The image a commit or build step made this one from (dockerd's `Parent`).
    public var parent: Digest?

    public init(id: Digest, manifestDigest: Digest, manifestMediaType: String, platform: Platform, created: String?,
                size: Int64, layers: [LayerRecord], parent: Digest? = nil, tags: [String] = [], repoDigests: [String] = []) {
        self.parent = parent
        self.id = id
        self.manifestDigest = manifestDigest
        self.manifestMediaType = manifestMediaType
        self.platform = platform
        self.created = created
        self.size = size
        self.layers = layers
        self.tags = tags
        self.repoDigests = repoDigests
    }
}

/// One layer of an image: the blob as distributed and the snapshot it unpacks to.
public struct LayerRecord: Sendable, Equatable {
    public var blob: Digest
    public var mediaType: String
    public var blobSize: Int64
    public var diffID: Digest
    public var chainID: Digest

    public init(blob: Digest, mediaType: String, blobSize: Int64, diffID: Digest, chainID: Digest) {
        self.blob = blob
        self.mediaType = mediaType
        self.blobSize = blobSize
        self.diffID = diffID
        self.chainID = chainID
    }
}
