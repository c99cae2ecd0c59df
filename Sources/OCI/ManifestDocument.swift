import Foundation

/// What a registry sent for a tag or digest, decoded and checked before anything is fetched for
/// it: an index to choose a platform from, or an image manifest whose layers Berth can unpack.
public enum ManifestDocument: Sendable, Equatable {
    case index(ImageIndex)
    case manifest(ImageManifest)

    /// Decodes `data` as the document `mediaType` names (the registry's `Content-Type`, or the
    /// type `ManifestKind` reads from the document). Throws for other types, a document that does
    /// not decode, and a manifest naming a layer type Berth cannot unpack or a negative size.
    public init(data: Data, mediaType: String) throws(ManifestDocumentError) {
        do {
            if MediaType.indexTypes.contains(mediaType) {
                self = .index(try JSONDecoder().decode(ImageIndex.self, from: data))
                return
            }
            guard MediaType.manifestTypes.contains(mediaType) else {
                throw ManifestDocumentError("unsupported media type \(mediaType)")
            }
            let manifest = try JSONDecoder().decode(ImageManifest.self, from: data)
            for layer in manifest.layers where !MediaType.layerTypes.contains(layer.mediaType) || layer.size < 0 {
                throw ManifestDocumentError("layer \(layer.digest) has unsupported media type \(layer.mediaType)")
            }
            if manifest.config.size < 0 {
                throw ManifestDocumentError("config \(manifest.config.digest) has a negative size")
            }
            self = .manifest(manifest)
        } catch let error as ManifestDocumentError {
            throw error
        } catch {
            throw ManifestDocumentError("\(error)")
        }
    }
}

/// Why a registry's document was refused; the caller adds the reference.
public struct ManifestDocumentError: Error, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
