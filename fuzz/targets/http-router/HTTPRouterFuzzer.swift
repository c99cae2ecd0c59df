@testable import API
import APIModels
import Dispatch
import Foundation
import FuzzDriver
import NIOCore
import NIOEmbedded
import NIOHTTP1
import OCI

/// Any bytes as one connection's input to berthd's HTTP server: NIO's parser with the handlers
/// `APIServer` adds, each request gathered as `APIServer` gathers it (bodies over its limit
/// refused), then answered by a `Router` holding berthd's route shapes, whose handlers apply
/// the parsers berthd's routes apply to paths, queries, headers and bodies; the answer is
/// written back through NIO's encoder. Bad input is an error response, never a crash.
@main
enum HTTPRouterFuzzer {
    static let router = makeRouter()

    static func main() {
        FuzzDriver.run { input in
            let channel = EmbeddedChannel()
            defer { _ = try? channel.finish() }
            do {
                try APIServer.addHTTPHandlers(to: channel.pipeline.syncOperations)
                // A malformed request ends here: NIO's error handler has answered 400 and closed.
                try channel.writeInbound(ByteBuffer(bytes: input))
            } catch {}
            serveRequests(on: channel)
        }
    }

    private static func serveRequests(on channel: EmbeddedChannel) {
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        var bodyTooLarge = false
        while let part = try? channel.readInbound(as: ServerInbound.self) {
            guard case .http(let part) = part else { continue }
            switch part {
            case .head(let next):
                (head, body, bodyTooLarge) = (next, ByteBuffer(), false)
            case .body(var chunk):
                if body.readableBytes + chunk.readableBytes > APIServer.maximumBodySize {
                    bodyTooLarge = true
                } else {
                    body.writeBuffer(&chunk)
                }
            case .end:
                guard let request = head else { continue }
                _ = router.spoolsBody(method: request.method, uri: request.uri)
                let response = bodyTooLarge
                    ? HTTPResponse.error(.payloadTooLarge, "request body too large")
                    : respond(request, body: body)
                write(response, version: request.version, to: channel)
                head = nil
            }
        }
    }

    /// The router is async; the fuzzer's thread waits for it.
    private static func respond(_ head: HTTPRequestHead, body: ByteBuffer) -> HTTPResponse {
        let answered = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var response: HTTPResponse?
        Task {
            response = await router.respond(method: head.method, uri: head.uri, headers: head.headers, body: body)
            answered.signal()
        }
        answered.wait()
        return response!
    }

    private static func write(_ response: HTTPResponse, version: HTTPVersion, to channel: EmbeddedChannel) {
        guard case .bytes(let bytes) = response.body else { return }
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: "\(bytes.readableBytes)")
        _ = try? channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: response.status, headers: headers)))
        _ = try? channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(bytes)))
        _ = try? channel.writeOutbound(HTTPServerResponsePart.end(nil))
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
    }

    // MARK: berthd's route shapes

    private static func makeRouter() -> Router {
        var router = Router()
        router.add(.GET, "/_ping") { _ in .text("OK") }
        router.add(.POST, "/containers/create") { request in
            let body = try decode(ContainerCreateRequest.self, request)
            _ = try request.queryValue("platform").map(ImageRoutes.parsePlatform)
            return .json(body, status: .created)
        }
        router.add(.GET, "/containers/json") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            _ = request.queryFlag("all")
            _ = request.queryValue("limit").flatMap(Int.init)
            return .json(filters)
        }
        router.add(.GET, "/containers/{id}/json") { request in .json(request.parameters) }
        router.add(.POST, "/containers/{id}/kill") { request in
            .json(try request.queryValue("signal").map(ContainerRoutes.parseSignal))
        }
        router.add(.POST, "/containers/{id}/stop") { request in
            .json([try request.queryValue("signal").map(ContainerRoutes.parseSignal), request.queryValue("t").flatMap(Int32.init)])
        }
        router.add(.POST, "/containers/{id}/update") { request in .json(try decode(ContainerUpdateRequest.self, request)) }
        router.add(.POST, "/containers/{id}/exec") { request in .json(try decode(ExecConfig.self, request)) }
        router.add(.POST, "/exec/{id}/start") { request in .json(try decode(ExecStartConfig.self, request)) }
        router.add(.DELETE, "/containers/{id}/{alias}") { request in .json(request.parameters) }
        router.add(.PUT, "/containers/{id}/archive", spoolBody: true) { request in .json(request.queryValue("path")) }
        router.add(.POST, "/commit") { request in
            _ = try request.queryValue("repo").map(ImageRoutes.parseReference)
            return .json(request.body.readableBytes == 0 ? nil : try decode(ContainerConfig.self, request))
        }
        router.add(.GET, "/images/json") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            let names = ["busybox:latest", "registry.example:5000/team/app:1.0", "localhost/a/b/c:tag"]
            return .json((filters["reference"] ?? []).map { pattern in names.filter { ReferencePattern.matches(pattern, $0) } })
        }
        router.add(.POST, "/images/create") { request in
            _ = try RegistryAuthHeader.credentials(from: request.headers)
            _ = try ImageRoutes.platform(request)
            return .json(try request.queryValue("fromImage").map(ImageRoutes.parseReference)?.description)
        }
        router.add(.GET, "/images/{name*}/json") { request in .json(try ImageRoutes.parseReference(request.parameters["name"] ?? "").description) }
        router.add(.POST, "/images/{name*}/push") { request in
            _ = try RegistryAuthHeader.credentials(from: request.headers)
            return .json(try ImageRoutes.parseReference(request.parameters["name"] ?? "").description)
        }
        router.add(.POST, "/images/{name*}/tag") { request in
            .json(try request.queryValue("repo").map(ImageRoutes.parseReference)?.description)
        }
        router.add(.GET, "/distribution/{name*}/json") { request in .json(request.parameters) }
        router.add(.POST, "/build", spoolBody: true) { request in
            _ = try RegistryAuthHeader.credentialsByRegistry(from: request.headers)
            _ = try BuildRoutes.jsonObject(request.queryValue("buildargs"), "buildargs")
            _ = try BuildRoutes.jsonObject(request.queryValue("labels"), "labels")
            _ = try BuildRoutes.jsonList(request.queryValue("cachefrom"), "cachefrom")
            return .json(request.query)
        }
        router.add(.POST, "/networks/create") { request in .json(try decode(NetworkCreateRequest.self, request)) }
        router.add(.POST, "/networks/{id}/connect") { request in .json(try decode(NetworkConnectRequest.self, request)) }
        router.add(.POST, "/volumes/create") { request in .json(try decode(VolumeCreateRequest.self, request)) }
        router.add(.POST, "/auth") { request in
            guard let config = try? JSONDecoder().decode(AuthRoutes.AuthConfig.self, from: Data(buffer: request.body)) else {
                throw APIError.badRequest("invalid auth config")
            }
            return .json(config.serveraddress)
        }
        return router
    }

    private static func decode<Body: Decodable>(_ type: Body.Type, _ request: HTTPRequest) throws -> Body {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: request.body))
        } catch {
            throw APIError.badRequest("invalid body: \(error)")
        }
    }
}
