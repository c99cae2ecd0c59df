/// A reference to content by digest, with its size and media type (OCI content descriptor).
public struct Descriptor: Codable, Sendable, Hashable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var platform: DescriptorPlatform?
    public var annotations: [String: String]?
    public var urls: [String]?

    public init(mediaType: String, digest: Digest, size: Int64, platform: DescriptorPlatform? = nil,
                annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }
}

/// The platform object of an index entry, in the spec's spelling.
public struct DescriptorPlatform: Codable, Sendable, Hashable {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var osVersion: String?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
    }

    public init(_ platform: Platform) {
        architecture = platform.architecture
        os = platform.os
        variant = platform.variant
    }

    public var platform: Platform {
        Platform(os: os, architecture: architecture, variant: variant)
    }
}
