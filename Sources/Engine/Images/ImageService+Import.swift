import APIModels
import Foundation
import ImageStore
import OCI

extension ImageService {
    /// `docker import`: a root filesystem tar (plain or compressed) as a one-layer image of
    /// `platform`, its settings from Dockerfile-style `changes`; tagged `name` when given.
    public func importImage(archive: String, platform: Platform?, name: Reference?, message: String,
                            changes: [String], scratch: String) async throws -> ImageRecord {
        var config = ContainerConfig()
        for change in changes { try ConfigChange.apply(change, to: &config) }
        let staging = scratch + "/rootfs"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let unpacker = unpacker
        do {
            // The archive's own name for errors: it has no digest until it is a layer.
            _ = try await runBlocking {
                try unpacker.unpack(blob: archive, layer: DigestHasher.digest(of: Data(archive.utf8)), into: staging)
            }
        } catch let error as UnpackError {
            throw ImageError.invalid("importing the archive: \(Self.importFailure(error))")
        }
        return try await derive(
            base: nil, platform: platform ?? hostPlatform, layerDirectory: staging,
            details: .init(config: config, comment: message.isEmpty ? "Imported from -" : message, author: "", createdBy: ""),
            name: name, event: "import")
    }

    private static func importFailure(_ error: UnpackError) -> String {
        if case .layer(_, let detail) = error { return detail }
        return error.description
    }
}
