import APIModels
import Engine
import Foundation
import NIOHTTP1
import OCI

extension ContainerRoutes {
    /// Files in and out of containers, their changes, and commits to images.
    static func registerFiles(on router: inout Router, containers: ContainerService, spoolDirectory: String) {
        router.add(.GET, "/containers/{id}/archive") { request in
            guard let path = request.queryValue("path"), !path.isEmpty else { throw APIError.badRequest("path is required") }
            let head = request.method == .HEAD
            let output = head ? nil : spoolDirectory + "/archive-\(UUID().uuidString).tar"
            let stat = try await mapErrors { try await containers.archive(id(request), path: path, to: output) }
            let headers: HTTPHeaders = ["Content-Type": "application/x-tar", "X-Docker-Container-Path-Stat": pathStatHeader(stat)]
            guard let output else { return HTTPResponse(headers: headers) }
            return HTTPResponse(headers: headers, body: .file(path: output, removeAfter: true))
        }
        router.add(.PUT, "/containers/{id}/archive", spoolBody: true) { request in
            guard let path = request.queryValue("path"), !path.isEmpty else { throw APIError.badRequest("path is required") }
            guard let body = request.bodyFile else { throw APIError.badRequest("a tar archive is required") }
            try await mapErrors { try await containers.extract(id(request), archive: body, into: path) }
            return HTTPResponse(status: .ok)
        }
        router.add(.GET, "/containers/{id}/export") { request in
            let output = spoolDirectory + "/export-\(UUID().uuidString).tar"
            try await mapErrors { try await containers.export(id(request), to: output) }
            return HTTPResponse(headers: ["Content-Type": "application/x-tar"], body: .file(path: output, removeAfter: true))
        }
        router.add(.GET, "/containers/{id}/changes") { request in
            let changes = try await mapErrors { try await containers.changes(id(request)) }
            return .json(changes.map { ["Path": JSONValue.string($0.path), "Kind": .number(Double($0.kind))] })
        }
        router.add(.POST, "/commit") { request in
            guard let container = request.queryValue("container"), !container.isEmpty else {
                throw APIError.badRequest("container is required")
            }
            var name: Reference?
            if let repository = request.queryValue("repo"), !repository.isEmpty {
                let tag = request.queryValue("tag").flatMap { $0.isEmpty ? nil : $0 }
                do {
                    name = try Reference(parsing: tag.map { "\(repository):\($0)" } ?? repository)
                } catch {
                    throw APIError.badRequest("\(error)")
                }
            }
            let overrides = request.body.readableBytes > 0
                ? try? JSONDecoder().decode(ContainerConfig.self, from: Data(buffer: request.body)) : nil
            let pause = request.queryValue("pause").map { !["0", "false"].contains($0.lowercased()) } ?? true
            let id = try await mapErrors {
                try await containers.commit(container, name: name, comment: request.queryValue("comment") ?? "",
                                            author: request.queryValue("author") ?? "", pause: pause,
                                            overrides: overrides, changes: request.query["changes"] ?? [])
            }
            return .json(IDResponse(Id: id), status: .created)
        }
    }
}
