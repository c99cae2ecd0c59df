import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI

extension RegistryClient {
    /// How a blob reached the registry.
    public enum BlobPushResult: Sendable, Equatable {
        case alreadyExists
        case mounted(from: String)
        case uploaded
    }

    /// Blobs above this size go up in `chunkSize` PATCHes; smaller ones in one PUT.
    static let chunkSize: Int64 = 16 << 20

    /// HEAD `/v2/<path>/blobs/<digest>`.
    public func blobExists(_ digest: Digest, repository: Reference, credentials: RegistryCredentials?) async throws -> Bool {
        let endpoint = settings.endpoint(for: repository.domain)
        let url = endpoint.baseURL + "/v2/\(repository.path)/blobs/\(digest)"
        do {
            _ = try await send(.HEAD, url: url, headers: [:], endpoint: endpoint, repository: repository, credentials: credentials, push: true)
            return true
        } catch RegistryError.notFound {
            return false
        }
    }

    /// Puts a blob from `file` into `repository`: skipped when present, mounted from `mountFrom`
    /// (another repository of the same registry) when the registry allows, else uploaded.
    public func pushBlob(
        _ descriptor: Descriptor, file: String, repository: Reference, mountFrom: String?,
        credentials: RegistryCredentials?, progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> BlobPushResult {
        if try await blobExists(descriptor.digest, repository: repository, credentials: credentials) {
            return .alreadyExists
        }
        let endpoint = settings.endpoint(for: repository.domain)
        let base = endpoint.baseURL
        var startURL = base + "/v2/\(repository.path)/blobs/uploads/"
        if let mountFrom { startURL += "?mount=\(descriptor.digest)&from=\(mountFrom)" }
        let started = try await send(.POST, url: startURL, headers: ["Content-Length": "0"], endpoint: endpoint, repository: repository,
                                     credentials: credentials, push: true)
        if started.status == .created, mountFrom != nil { return .mounted(from: mountFrom!) }
        var location = try Self.location(started, base: base)

        if descriptor.size > Self.chunkSize {
            var offset: Int64 = 0
            while offset < descriptor.size {
                let length = min(Self.chunkSize, descriptor.size - offset)
                let range = "\(offset)-\(offset + length - 1)"
                let chunkStart = offset
                let response = try await send(
                    .PATCH, url: location,
                    headers: ["Content-Type": "application/octet-stream", "Content-Range": range, "Content-Length": "\(length)"],
                    endpoint: endpoint, repository: repository, credentials: credentials, push: true, retry: false
                ) { .stream(FileChunks(path: file, offset: chunkStart, length: length), length: .known(length)) }
                location = try Self.location(response, base: base)
                offset += length
                progress(offset)
            }
            _ = try await send(.PUT, url: Self.appendingDigest(location, descriptor.digest),
                               headers: ["Content-Length": "0"], endpoint: endpoint, repository: repository, credentials: credentials,
                               push: true, retry: false)
        } else {
            let size = descriptor.size
            _ = try await send(
                .PUT, url: Self.appendingDigest(location, descriptor.digest),
                headers: ["Content-Type": "application/octet-stream", "Content-Length": "\(size)"],
                endpoint: endpoint, repository: repository, credentials: credentials, push: true, retry: false
            ) { .stream(FileChunks(path: file, offset: 0, length: size), length: .known(size)) }
            progress(size)
        }
        return .uploaded
    }

    /// PUT `/v2/<path>/manifests/<tag>` with the manifest's exact bytes, so its digest is kept.
    public func pushManifest(_ data: Data, mediaType: String, repository: Reference, tag: String,
                             credentials: RegistryCredentials?) async throws -> Digest {
        let endpoint = settings.endpoint(for: repository.domain)
        let url = endpoint.baseURL + "/v2/\(repository.path)/manifests/\(tag)"
        let bytes = ByteBuffer(bytes: data)
        let response = try await send(
            .PUT, url: url, headers: ["Content-Type": mediaType, "Content-Length": "\(data.count)"],
            endpoint: endpoint, repository: repository, credentials: credentials, push: true
        ) { .bytes(bytes) }
        let digest = DigestHasher.digest(of: data)
        if let header = response.headers.first(name: "Docker-Content-Digest"), let announced = try? Digest(parsing: header),
           announced != digest {
            throw RegistryError.badManifest("registry stored the manifest as \(announced), expected \(digest)")
        }
        return digest
    }

    static func location(_ response: HTTPClientResponse, base: String) throws -> String {
        guard let location = response.headers.first(name: "Location") else {
            throw RegistryError.http(status: Int(response.status.code), url: base, message: "upload response without Location")
        }
        return location.hasPrefix("http://") || location.hasPrefix("https://") ? location : base + location
    }

    static func appendingDigest(_ location: String, _ digest: Digest) -> String {
        location + (location.contains("?") ? "&" : "?") + "digest=" + digest.description
    }
}

/// A byte range of a file as an async sequence of 1 MiB buffers, for streaming request bodies.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int64
    let length: Int64

    struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        let handle: FileHandle?
        var remaining: Int64

        mutating func next() async throws -> ByteBuffer? {
            guard remaining > 0, let handle else {
                try? handle?.close()
                return nil
            }
            let data = try handle.read(upToCount: Int(Swift.min(remaining, 1 << 20))) ?? Data()
            guard !data.isEmpty else { throw RegistryError.localContent("\(path) ended \(remaining) bytes early") }
            remaining -= Int64(data.count)
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        let handle = FileHandle(forReadingAtPath: path)
        try? handle?.seek(toOffset: UInt64(offset))
        return AsyncIterator(path: path, handle: handle, remaining: length)
    }
}
