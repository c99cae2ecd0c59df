import APIModels
import Engine
import Foundation
import NIOCore
import NIOHTTP1
import OCI

/// `/images/*`: pull, list, inspect, history, tag, remove, prune.
public enum ImageRoutes {
    /// `intermediateImages`: what builds made along the way, which `images` lists only with `all`.
    public static func register(on router: inout Router, images: ImageService, registry: RegistryService, spoolDirectory: String,
                                intermediateImages: @escaping @Sendable () throws -> Set<Digest> = { [] }) {
        router.add(.GET, "/images/search") { request in try await search(request, registry: registry) }
        router.add(.GET, "/images/get") { request in
            try await save(request.query["names"] ?? [], images: images, spoolDirectory: spoolDirectory)
        }
        router.add(.GET, "/images/{name*}/get") { request in
            try await save([request.parameters["name"] ?? ""], images: images, spoolDirectory: spoolDirectory)
        }
        router.add(.POST, "/images/load", spoolBody: true) { request in
            try await load(request, images: images, spoolDirectory: spoolDirectory)
        }
        router.add(.POST, "/images/create", spoolBody: true) { request in
            if let source = request.queryValue("fromSrc"), !source.isEmpty {
                return try await importImage(request, source: source, images: images, spoolDirectory: spoolDirectory)
            }
            return try await pull(request, images: images)
        }
        router.add(.GET, "/images/json") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            for key in filters.keys where !["reference", "dangling"].contains(key) {
                throw APIError.badRequest("invalid filter '\(key)'")
            }
            let hidden = request.queryFlag("all") ? [] : try intermediateImages()
            return .json(try images.summaries { image in
                if image.tags.isEmpty, hidden.contains(image.id) { return false }
                if let dangling = filters["dangling"]?.first {
                    guard image.tags.isEmpty == ["true", "1"].contains(dangling.lowercased()) else { return false }
                }
                if let patterns = filters["reference"], !patterns.isEmpty {
                    // Every spelling matches: `alpine`, `docker.io/library/alpine:latest`.
                    return image.tags.contains { tag in
                        patterns.contains { ReferencePattern.matches($0, Reference.familiar(tag)) || ReferencePattern.matches($0, tag) }
                    }
                }
                return true
            })
        }
        router.add(.GET, "/images/{name*}/json") { request in
            .json(try mapErrors { try images.inspect(request.parameters["name"] ?? "", platform: try platform(request)) })
        }
        router.add(.GET, "/images/{name*}/history") { request in
            .json(try mapErrors { try images.history(request.parameters["name"] ?? "", platform: try platform(request)) })
        }
        router.add(.POST, "/images/{name*}/tag") { request in
            guard let repository = request.queryValue("repo"), !repository.isEmpty else {
                throw APIError.badRequest("repository name (repo) is required")
            }
            let tag = request.queryValue("tag").flatMap { $0.isEmpty ? nil : $0 }
            let target = try parseReference(tag.map { "\(repository):\($0)" } ?? repository)
            try await mapErrors { try await images.tag(request.parameters["name"] ?? "", as: target) }
            return HTTPResponse(status: .created)
        }
        router.add(.DELETE, "/images/{name*}") { request in
            let deletions = try await mapErrors {
                try await images.remove(request.parameters["name"] ?? "", force: request.queryFlag("force"))
            }
            return .json(deletions.map { deletion -> ImageDeleteItem in
                switch deletion {
                case .untagged(let name): return ImageDeleteItem(Untagged: name)
                case .deleted(let id): return ImageDeleteItem(Deleted: id)
                }
            })
        }
        router.add(.POST, "/images/{name*}/push") { request in try push(request, images: images) }
        router.add(.POST, "/images/prune") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            for key in filters.keys where key != "dangling" {
                throw APIError.badRequest("invalid filter '\(key)'")
            }
            let all = filters["dangling"]?.contains { ["false", "0"].contains($0.lowercased()) } ?? false
            let result = try await mapErrors { try await images.prune(all: all) }
            return .json(PruneReport(ImagesDeleted: result.deleted,
                                     SpaceReclaimed: result.freed))
        }
        router.add(.GET, "/distribution/{name*}/json") { request in
            let reference = try parseReference(request.parameters["name"] ?? "")
            let credentials = try RegistryAuthHeader.credentials(from: request.headers)
            do {
                let (descriptor, platforms) = try await images.distribution(reference, credentials: credentials)
                return .json(DistributionInspect(
                    Descriptor: .init(mediaType: descriptor.mediaType, digest: descriptor.digest.description, size: descriptor.size),
                    Platforms: platforms.map { .init(architecture: $0.architecture, os: $0.os, variant: $0.variant) }))
            } catch {
                throw translate(error)
            }
        }
    }

    struct DistributionInspect: Encodable {
        struct DescriptorShape: Encodable { var mediaType: String; var digest: String; var size: Int64 }
        struct PlatformShape: Encodable { var architecture: String; var os: String; var variant: String? }
        var Descriptor: DescriptorShape
        var Platforms: [PlatformShape]
    }

    struct PruneReport: Encodable {
        var ImagesDeleted: [ImageDeleteItem]
        var SpaceReclaimed: Int64
    }

    // MARK: Pull

    /// Streams Docker's progress JSON while the pull runs. As dockerd does, the answer waits until
    /// the registry has the image: a name it does not know, a registry it cannot reach, is an error
    /// status the docker CLI prints as `Error response from daemon`; a failure after that is an
    /// `errorDetail` line in the stream.
    /// `docker import`: the request body (`fromSrc=-`) as a one-layer image; answers with the
    /// image's ID as the last status line, as dockerd does.
    static func importImage(_ request: HTTPRequest, source: String, images: ImageService, spoolDirectory: String) async throws
        -> HTTPResponse
    {
        guard source == "-" else {
            throw APIError.badRequest("importing from a URL is not available: Berth runs offline; send the archive as the request body")
        }
        guard let archive = request.bodyFile else { throw APIError.badRequest("no archive in the request body") }
        var name: Reference?
        if let repository = request.queryValue("repo"), !repository.isEmpty {
            let tag = request.queryValue("tag").flatMap { $0.isEmpty ? nil : $0 }
            name = try parseReference(tag.map { "\(repository):\($0)" } ?? repository)
        }
        let scratch = spoolDirectory + "/import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let imageID: String
        do {
            imageID = try await images.importImage(
                archive: archive, platform: try platform(request), name: name, message: request.queryValue("message") ?? "",
                changes: request.query["changes"] ?? [], scratch: scratch).id.description
        } catch let error as ContainerError {
            throw APIError.badRequest("\(error)")
        } catch {
            throw translate(error)
        }
        var line = try JSONEncoder().encode(ProgressMessage(status: imageID))
        line.append(UInt8(ascii: "\n"))
        return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .bytes(ByteBuffer(bytes: line)))
    }

    static func pull(_ request: HTTPRequest, images: ImageService) async throws -> HTTPResponse {
        guard let fromImage = request.queryValue("fromImage"), !fromImage.isEmpty else {
            throw APIError.badRequest("fromImage or fromSrc is required")
        }
        var name = fromImage
        if let tag = request.queryValue("tag"), !tag.isEmpty {
            name += tag.hasPrefix("sha256:") ? "@\(tag)" : ":\(tag)"
        }
        let reference = try parseReference(name)
        let platform = try request.queryValue("platform").flatMap { $0.isEmpty ? nil : $0 }.map(parsePlatform)
        let credentials = try RegistryAuthHeader.credentials(from: request.headers)

        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let renderer = ProgressRenderer(continuation: continuation)
        let start = StreamStart()
        let task = Task {
            do {
                _ = try await images.pull(reference, platform: platform, credentials: credentials) { progress in
                    if case .started(let selector) = progress {
                        start.open()
                        renderer.emit(ProgressMessage(status: "Pulling from \(reference.path)", id: selector))
                    }
                    renderer.render(progress)
                }
                start.open()
            } catch {
                if !start.fail(error) { renderer.emit(ProgressMessage(error: "\(error)")) }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        do {
            try await start.wait()
        } catch {
            throw translate(error)
        }
        return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .stream(stream))
    }

    static func push(_ request: HTTPRequest, images: ImageService) throws -> HTTPResponse {
        var name = request.parameters["name"] ?? ""
        if let tag = request.queryValue("tag"), !tag.isEmpty { name += ":\(tag)" }
        let reference = try parseReference(name)
        do {
            _ = try images.resolve(reference.withDefaultTag.description)
        } catch {
            guard case ImageError.notFound = ImageError.translating(error) else { throw translate(error) }
            throw APIError(.notFound, "An image does not exist locally with the tag: \(reference.familiarRepository)")
        }
        let credentials = try RegistryAuthHeader.credentials(from: request.headers)
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let renderer = ProgressRenderer(continuation: continuation)
        let task = Task {
            renderer.emit(ProgressMessage(status: "The push refers to repository [\(reference.repository)]"))
            do {
                _ = try await images.push(reference, credentials: credentials) { renderer.render($0) }
            } catch {
                renderer.emit(ProgressMessage(error: "\(error)"))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .stream(stream))
    }

    // MARK: Search

    /// `GET /images/search?term=&limit=&filters=`: Docker Hub's index for bare terms, a registry's
    /// catalog for `host[:port]/term`; `is-official`, `is-automated` and `stars` filters as dockerd's.
    static func search(_ request: HTTPRequest, registry: RegistryService) async throws -> HTTPResponse {
        guard let term = request.queryValue("term"), !term.isEmpty else { throw APIError.badRequest("term is required") }
        let limit = Int(request.queryValue("limit") ?? "") ?? 25
        guard (1...100).contains(limit) else { throw APIError.badRequest("limit \(limit) is outside the range of [1, 100]") }
        let filters = try QueryFilters.parse(request.queryValue("filters"))
        for key in filters.keys where !["is-official", "is-automated", "stars"].contains(key) {
            throw APIError.badRequest("invalid filter '\(key)'")
        }
        func flag(_ key: String) throws -> Bool? {
            guard let value = filters[key]?.first else { return nil }
            switch value.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw APIError.badRequest("invalid filter '\(key)=\(value)'")
            }
        }
        let official = try flag("is-official")
        let automated = try flag("is-automated")
        let stars = try filters["stars"]?.map { value -> Int in
            guard let number = Int(value) else { throw APIError.badRequest("invalid filter 'stars=\(value)'") }
            return number
        }.max()
        let results: [SearchResult]
        do {
            results = try await registry.search(term, limit: limit, credentials: try RegistryAuthHeader.credentials(from: request.headers))
        } catch ImageError.unauthorized(let message) {
            throw APIError(.unauthorized, message)
        } catch {
            throw APIError(.internalServerError, "\(error)")
        }
        return .json(results.filter { result in
            official.map { $0 == result.is_official } ?? true && automated.map { $0 == result.is_automated } ?? true
                && stars.map { result.star_count >= $0 } ?? true
        })
    }

    // MARK: Save and load

    /// Writes the archive to a spool file, then streams it and removes it.
    static func save(_ names: [String], images: ImageService, spoolDirectory: String) async throws -> HTTPResponse {
        guard !names.isEmpty else { throw APIError.badRequest("no images named") }
        let path = spoolDirectory + "/save-\(UUID().uuidString).tar"
        do {
            try await mapErrors { try await images.save(names, to: path) }
        } catch {
            unlink(path)
            throw error
        }
        return HTTPResponse(status: .ok, headers: ["Content-Type": "application/x-tar"], body: .file(path: path, removeAfter: true))
    }

    static func load(_ request: HTTPRequest, images: ImageService, spoolDirectory: String) async throws -> HTTPResponse {
        guard let archive = request.bodyFile else { throw APIError.badRequest("no archive in the request body") }
        let scratch = spoolDirectory + "/load-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        struct StreamLine: Encodable { var stream: String }
        let lines: [Data]
        do {
            lines = try await images.load(archive: archive, scratch: scratch).map { message in
                try JSONEncoder().encode(StreamLine(stream: message + "\n"))
            }
        } catch {
            // As dockerd: the answer is a stream whatever happens, and a failure is its last line.
            lines = [try JSONEncoder().encode(ProgressMessage(error: "\((translate(error) as? APIError)?.message ?? "\(error)")"))]
        }
        let body = lines.reduce(into: Data()) { body, line in body += line + [UInt8(ascii: "\n")] }
        return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"],
                            body: .bytes(ByteBuffer(bytes: body)))
    }

    // MARK: Helpers

    /// The `platform` query parameter, when given.
    static func platform(_ request: HTTPRequest) throws -> Platform? {
        try request.queryValue("platform").flatMap { $0.isEmpty ? nil : $0 }.map(parsePlatform)
    }

    static func parseReference(_ text: String) throws -> Reference {
        do { return try Reference(parsing: text) } catch { throw APIError.badRequest("\(error)") }
    }

    static func parsePlatform(_ text: String) throws -> Platform {
        do { return try Platform(parsing: text) } catch { throw APIError.badRequest("\(error)") }
    }

    /// Maps engine errors onto Docker's status codes.
    static func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw translate(error) }
    }

    static func mapErrors<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw translate(error) }
    }

    static func translate(_ error: Error) -> Error {
        switch ImageError.translating(error) {
        case let error as APIError: return error
        case let error as ImageError:
            switch error {
            case .conflict: return APIError(.conflict, error.description)
            case .notInRegistry, .notFound: return APIError(.notFound, error.description)
            case .unauthorized: return APIError(.unauthorized, error.description)
            case .registryFailed: return APIError(.internalServerError, error.description)
            case .platformMismatch, .invalidTag, .invalid: return APIError(.badRequest, error.description)
            }
        case let error as ReferenceError: return APIError(.badRequest, error.description)
        case let other: return APIError(.internalServerError, "\(other)")
        }
    }
}
