import APIModels
import Engine
import Foundation
import NIOCore
import OCI

extension ContainerRoutes {
    /// Create, list, inspect, start, stop, restart, kill, wait, remove, pause, rename, prune, top.
    static func registerLifecycle(on router: inout Router, containers: ContainerService) {
        router.add(.POST, "/containers/create") { request in
            let body: ContainerCreateRequest
            do {
                body = try JSONDecoder().decode(ContainerCreateRequest.self, from: Data(buffer: request.body))
            } catch {
                throw APIError.badRequest("invalid container config: \(error)")
            }
            let platform = try request.queryValue("platform").flatMap { $0.isEmpty ? nil : $0 }.map { text in
                do { return try Platform(parsing: text) } catch { throw APIError.badRequest("\(error)") }
            }
            let created = try await mapErrors {
                try await containers.create(body, name: request.queryValue("name"), platform: platform)
            }
            return .json(ContainerCreateResponse(Id: created.id, Warnings: created.warnings), status: .created)
        }
        router.add(.GET, "/containers/json") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            var records = try await containers.list().filter { record in
                (request.queryFlag("all") || record.state.isActive) && matches(record, filters)
            }
            if let limit = request.queryValue("limit").flatMap(Int.init), limit > 0 { records = Array(records.prefix(limit)) }
            let networks = try await containers.networks.listNetworks()
            var summaries = records.map { summary($0, paths: containers.paths, networks: networks) }
            if request.queryFlag("size") {
                // The writable layer's bytes, and those plus the image's.
                for index in summaries.indices {
                    let sizes = await containers.sizes(records[index])
                    summaries[index].SizeRw = sizes.writable
                    summaries[index].SizeRootFs = sizes.total
                }
            }
            return .json(summaries)
        }
        router.add(.GET, "/containers/{id}/json") { request in
            .json(inspect(try await find(request, containers), paths: containers.paths, networks: try await containers.networks.listNetworks()))
        }
        router.add(.POST, "/containers/{id}/start") { request in
            do {
                try await mapErrors { try await containers.start(id(request)) }
            } catch let error as APIError where error.status == .notModified {
                return HTTPResponse(status: .notModified)
            }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/stop") { request in
            let signal = try request.queryValue("signal").map(parseSignal)
            do {
                try await mapErrors {
                    try await containers.stop(id(request), signal: signal, timeout: request.queryValue("t").flatMap(Int.init))
                }
            } catch let error as APIError where error.status == .notModified {
                return HTTPResponse(status: .notModified)
            }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/restart") { request in
            try await mapErrors {
                do {
                    try await containers.stop(id(request), timeout: request.queryValue("t").flatMap(Int.init))
                } catch ContainerError.notModified {}
                try await containers.start(id(request))
            }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/kill") { request in
            let signal = try request.queryValue("signal").flatMap { $0.isEmpty ? nil : $0 }.map(parseSignal) ?? SIGKILL
            try await mapErrors { try await containers.kill(id(request), signal: signal) }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/wait") { request in
            let conditionText = request.queryValue("condition").flatMap { $0.isEmpty ? nil : $0 } ?? "not-running"
            guard let condition = ContainerService.WaitCondition(rawValue: conditionText) else {
                throw APIError.badRequest("invalid condition: \(conditionText)")
            }
            // Registered before the head goes out, so a client that starts the container once it has
            // the head (as Docker's does) cannot miss the exit; the status follows when it comes.
            let waiting = try await mapErrors { try await containers.waiter(id(request), condition: condition) }
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            let task = Task {
                let status = await waiting()
                var data = try JSONEncoder().encode(ContainerWaitResponse(StatusCode: Int(status.code), error: status.error))
                data.append(UInt8(ascii: "\n"))
                continuation.yield(ByteBuffer(bytes: data))
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
            return HTTPResponse(headers: ["Content-Type": "application/json"], body: .stream(stream))
        }
        router.add(.DELETE, "/containers/{id}") { request in
            try await mapErrors {
                try await containers.remove(id(request), force: request.queryFlag("force"), removeVolumes: request.queryFlag("v"))
            }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/pause") { request in
            try await mapErrors { try await containers.pause(id(request)) }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/unpause") { request in
            try await mapErrors { try await containers.unpause(id(request)) }
            return HTTPResponse(status: .noContent)
        }
        // `docker rm --link CONTAINER/ALIAS`: only the link goes.
        router.add(.DELETE, "/containers/{id}/{alias}") { request in
            guard request.queryFlag("link") else { throw APIError(.notFound, "page not found") }
            try await mapErrors { try await containers.removeLink(id(request), alias: request.parameters["alias"] ?? "") }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/update") { request in
            let update: ContainerUpdateRequest
            do {
                update = try JSONDecoder().decode(ContainerUpdateRequest.self, from: Data(buffer: request.body))
            } catch {
                throw APIError.badRequest("invalid update config: \(error)")
            }
            let warnings = try await mapErrors { try await containers.update(id(request), update) }
            return .json(["Warnings": warnings])
        }
        router.add(.POST, "/containers/{id}/rename") { request in
            guard let name = request.queryValue("name"), !name.isEmpty else { throw APIError.badRequest("name is required") }
            try await mapErrors { try await containers.rename(id(request), to: name) }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/prune") { _ in
            let result = try await mapErrors { try await containers.prune() }
            return .json(["ContainersDeleted": JSONValue.array(result.ids.map { .string($0) }),
                          "SpaceReclaimed": .number(Double(result.freed))])
        }
        router.add(.GET, "/containers/{id}/top") { request in
            let top = try await mapErrors { try await containers.top(id(request)) }
            return .json(["Titles": JSONValue.array(top.titles.map { .string($0) }),
                          "Processes": .array(top.processes.map { .array($0.map { .string($0) }) })])
        }
    }
}
