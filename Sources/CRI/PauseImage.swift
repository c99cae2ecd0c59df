import APIModels
import Engine
import Foundation
import ImageStore
import OCI

/// The image of a pod's infra container: `berth-pause` (built beside berthd) alone in one layer,
/// made in the image store the first time a pod needs it, as podman makes its own. Named under
/// `localhost/`, a registry it never came from, and reported as pinned so kubelet never removes it.
public struct PauseImage: Sendable {
    public static let repository = "localhost/berth-pause"

    let images: ImageService
    let binary: String
    let reference: Reference

    public init(images: ImageService, binary: String) throws {
        self.images = images
        self.binary = binary
        reference = try Reference(parsing: "\(Self.repository):\(BerthVersion.version)")
    }

    /// The image's record, made now when it is not there.
    func ensure() async throws -> ImageRecord {
        if let present = try? images.resolve(reference.description, platform: images.hostPlatform) { return present }
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CRIServerError("\(binary) is missing: build it with `make build` (shim/), which puts it beside berthd")
        }
        let staging = images.snapshots.root + "/.pause-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: staging) }
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: binary, toPath: staging + "/pause")
        var config = ContainerConfig()
        config.Entrypoint = StringOrList(["/pause"])
        let details = ImageService.CommitDetails(config: config, comment: "the infra container of Berth's pod sandboxes",
                                                 author: "berthd", createdBy: "COPY berth-pause /pause")
        return try await images.derive(base: nil, platform: images.hostPlatform, layerDirectory: staging, details: details,
                                       name: reference, event: "import")
    }

    /// Whether an image is this one, whatever Berth version made it.
    static func isPauseImage(_ tags: [String]) -> Bool {
        tags.contains { $0.hasPrefix(repository + ":") }
    }
}
