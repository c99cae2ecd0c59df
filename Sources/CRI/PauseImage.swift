import APIModels
import Engine
import Foundation
import ImageStore
import OCI

/// The image of a pod's infra container: `berth-pause` (built beside berthd) alone in one layer,
/// made in the image store the first time a pod needs it, as podman makes its own. Named under
/// `localhost/`, a registry it never came from, and reported as pinned so kubelet never removes it.
/// A pod of another architecture (in its utility VM) gets the same program built for that one,
/// which vm-images/build puts beside the guest agent.
public struct PauseImage: Sendable {
    public static let repository = "localhost/berth-pause"

    let images: ImageService
    let binary: String
    /// The program for an OCI architecture other than the host's; nil when none was built.
    let foreignBinary: @Sendable (String) -> String?
    let reference: Reference

    public init(images: ImageService, binary: String, foreignBinary: @escaping @Sendable (String) -> String?) throws {
        self.images = images
        self.binary = binary
        self.foreignBinary = foreignBinary
        reference = try Reference(parsing: "\(Self.repository):\(BerthVersion.version)")
    }

    /// The image's record for `platform` (nil: the host's), made now when it is not there.
    func ensure(platform requested: Platform? = nil) async throws -> ImageRecord {
        let platform = requested ?? images.hostPlatform
        if let present = try? images.resolve(reference.description, platform: platform), present.platform.architecture == platform.architecture {
            return present
        }
        let foreign = platform.architecture != images.hostPlatform.architecture
        let binary = foreign ? foreignBinary(platform.architecture) : self.binary
        guard let binary, FileManager.default.isExecutableFile(atPath: binary) else {
            throw CRIServerError(foreign ? "no berth-pause for \(platform) pods: run `vm-images/build \(platform.architecture == "amd64" ? "x86_64" : platform.architecture)`"
                : "\(self.binary) is missing: build it with `make build` (shim/), which puts it beside berthd")
        }
        let staging = images.snapshots.root + "/.pause-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: staging) }
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: binary, toPath: staging + "/pause")
        var config = ContainerConfig()
        config.Entrypoint = StringOrList(["/pause"])
        let details = ImageService.CommitDetails(config: config, comment: "the infra container of Berth's pod sandboxes",
                                                 author: "berthd", createdBy: "COPY berth-pause /pause")
        return try await images.derive(base: nil, platform: platform, layerDirectory: staging, details: details,
                                       name: reference, event: "import")
    }

    /// Whether an image is this one, whatever Berth version made it.
    static func isPauseImage(_ tags: [String]) -> Bool {
        tags.contains { $0.hasPrefix(repository + ":") }
    }
}
