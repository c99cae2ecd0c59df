import APIModels
import Engine
import Foundation

/// `/containers/*`, `/commit` and `/exec/*`: containers and their processes, in Docker's shapes (the
/// conversions are in ContainerRoutes+DockerShapes).
public enum ContainerRoutes {
    public static func register(on router: inout Router, containers: ContainerService, spoolDirectory: String) {
        registerLifecycle(on: &router, containers: containers)
        registerFiles(on: &router, containers: containers, spoolDirectory: spoolDirectory)
        registerStreams(on: &router, containers: containers)
        registerExec(on: &router, containers: containers)
    }

    /// `X-Docker-Container-Path-Stat`: the stat as base64 JSON.
    static func pathStatHeader(_ stat: ContainerPathStat) -> String {
        ((try? JSONEncoder().encode(stat)) ?? Data()).base64EncodedString()
    }

    static func id(_ request: HTTPRequest) -> String { request.parameters["id"] ?? "" }

    static func find(_ request: HTTPRequest, _ containers: ContainerService) async throws -> ContainerRecord {
        try await mapErrors { try await containers.find(id(request)) }
    }

    static func parseSignal(_ text: String) throws -> Int32 {
        guard let signal = ContainerService.signal(named: text) else { throw APIError.badRequest("Invalid signal: \(text)") }
        return signal
    }

    @discardableResult
    static func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            guard let error = ContainerError.translating(error) as? ContainerError else { throw error }
            switch error {
            case .notFound(let message): throw APIError(.notFound, message)
            case .conflict(let message): throw APIError(.conflict, message)
            case .invalid(let message): throw APIError(.badRequest, message)
            case .notModified: throw APIError(.notModified, "")
            case .failed(let message): throw APIError(.internalServerError, message)
            case .startFailed(let code, let message):
                // Docker answers 400 for a command that cannot run, 500 for other setup failures.
                throw APIError(code == 126 || code == 127 ? .badRequest : .internalServerError, message)
            }
        }
    }
}
