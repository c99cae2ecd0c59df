import CRIProtocol
import Engine
import Foundation
import GRPCCore
import ImageStore
import OCI

/// The CRI's ImageService on the engine's images: the same store `berth images` and the Docker API
/// show. An image is one platform's variant; a request whose spec names a runtime handler means
/// that handler's platform.
public struct CRIImageService: Runtime_V1_ImageService.SimpleServiceProtocol {
    private let images: ImageService
    /// Where layers are unpacked, as `ImageFsInfo` reports it.
    private let snapshotRoot: String

    public init(images: ImageService) {
        self.images = images
        self.snapshotRoot = images.snapshots.root
    }

    public func listImages(request: Runtime_V1_ListImagesRequest, context: ServerContext) async throws -> Runtime_V1_ListImagesResponse {
        try await CRIError.answering {
            var response = Runtime_V1_ListImagesResponse()
            let wanted = request.filter.image.image
            if wanted.isEmpty {
                response.images = try images.list().map(image)
            } else if let record = try record(request.filter.image) {
                response.images = [try image(record)]
            }
            return response
        }
    }

    public func imageStatus(request: Runtime_V1_ImageStatusRequest, context: ServerContext) async throws -> Runtime_V1_ImageStatusResponse {
        try await CRIError.answering {
            guard !request.image.image.isEmpty else { throw CRIError.missing("image") }
            var response = Runtime_V1_ImageStatusResponse()
            // An image that is not here is an empty answer, not an error: kubelet pulls then.
            if let record = try record(request.image) {
                response.image = try image(record)
                if request.verbose {
                    response.info["info"] = String(decoding: try images.rawConfig(of: record), as: UTF8.self)
                }
            }
            return response
        }
    }

    public func pullImage(request: Runtime_V1_PullImageRequest, context: ServerContext) async throws -> Runtime_V1_PullImageResponse {
        try await CRIError.answering {
            guard !request.image.image.isEmpty else { throw CRIError.missing("image") }
            let reference = try Reference(parsing: request.image.image)
            let platform = try Self.platform(of: request.image)
            let record = try await images.pull(reference, platform: platform, credentials: try Self.credentials(request.auth)) { _ in }
            var response = Runtime_V1_PullImageResponse()
            response.imageRef = record.id.description
            return response
        }
    }

    public func removeImage(request: Runtime_V1_RemoveImageRequest, context: ServerContext) async throws -> Runtime_V1_RemoveImageResponse {
        try await CRIError.answering {
            guard !request.image.image.isEmpty else { throw CRIError.missing("image") }
            // Removing an image that is gone already succeeds (the CRI asks for idempotence), and
            // takes every name of it, as a CRI image is the image rather than one of its names.
            if let record = try record(request.image) {
                _ = try await images.remove(record.id.description, force: true)
            }
            return Runtime_V1_RemoveImageResponse()
        }
    }

    public func imageFsInfo(request: Runtime_V1_ImageFsInfoRequest, context: ServerContext) async throws -> Runtime_V1_ImageFsInfoResponse {
        try await CRIError.answering {
            let usage = try DirectoryUsage.measure(snapshotRoot)
            var filesystem = Runtime_V1_FilesystemUsage()
            filesystem.timestamp = Int64(Date().timeIntervalSince1970 * 1e9)
            filesystem.fsID.mountpoint = snapshotRoot
            filesystem.usedBytes.value = usage.bytes
            filesystem.inodesUsed.value = usage.inodes
            var response = Runtime_V1_ImageFsInfoResponse()
            response.imageFilesystems = [filesystem]
            return response
        }
    }

    // MARK: Shapes

    /// The image a spec names, nil when it is not here. A name means its variant for the spec's
    /// handler (the host's platform when it names none, as for a native pod); an ID or a digest
    /// reference means that very image, whatever its platform.
    private func record(_ spec: Runtime_V1_ImageSpec) throws -> ImageRecord? {
        let handlerPlatform = try Self.platform(of: spec)
        do {
            return try images.resolve(spec.image, platform: handlerPlatform ?? images.hostPlatform)
        } catch {
            guard case ImageError.notFound = ImageError.translating(error) else { throw error }
        }
        guard handlerPlatform == nil, Self.namesOneImage(spec.image) else { return nil }
        do {
            return try images.resolve(spec.image)
        } catch {
            if case ImageError.notFound = ImageError.translating(error) { return nil }
            throw error
        }
    }

    /// An image ID (whole, or a prefix of its hex) or a digest reference.
    static func namesOneImage(_ name: String) -> Bool {
        if name.contains("@") { return true }
        let hex = name.hasPrefix("sha256:") ? name.dropFirst("sha256:".count) : Substring(name)
        return !hex.isEmpty && hex.count <= 64 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    private func image(_ record: ImageRecord) throws -> Runtime_V1_Image {
        var image = Runtime_V1_Image()
        image.id = record.id.description
        image.repoTags = record.tags
        image.repoDigests = record.repoDigests
        image.size = UInt64(max(0, record.size))
        image.spec.image = record.id.description
        image.pinned = PauseImage.isPauseImage(record.tags)
        // The image's user: a number is the uid kubelet checks runAsNonRoot against, a name is left to it.
        let user = try images.config(of: record).config?.User ?? ""
        let name = user.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        if let uid = Int64(name) {
            image.uid.value = uid
        } else if !name.isEmpty {
            image.username = name
        }
        return image
    }

    static func platform(of spec: Runtime_V1_ImageSpec) throws -> Platform? {
        try RuntimeHandler(named: spec.runtimeHandler).platform
    }

    /// Docker's credential shapes as kubelet passes them from pull secrets: a user and password, or
    /// `auth` (base64 of "user:password"), or an identity token.
    static func credentials(_ auth: Runtime_V1_AuthConfig) throws -> RegistryCredentials? {
        if !auth.username.isEmpty { return RegistryCredentials(username: auth.username, password: auth.password) }
        if !auth.auth.isEmpty {
            guard let decoded = Data(base64Encoded: auth.auth).map({ String(decoding: $0, as: UTF8.self) }),
                  let colon = decoded.firstIndex(of: ":") else {
                throw RPCError(code: .invalidArgument, message: "auth is not base64 of \"username:password\"")
            }
            return RegistryCredentials(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
        }
        if !auth.identityToken.isEmpty { return RegistryCredentials(username: "<token>", password: auth.identityToken) }
        return nil
    }
}
