import Engine
import GRPCCore
import OCI

/// Engine errors as gRPC statuses, so kubelet and crictl can tell a missing object or a bad
/// request from a failure of the node.
enum CRIError {
    static func status(for error: Error) -> RPCError {
        switch ImageError.translating(error) {
        case let error as RPCError:
            return error
        case let error as ImageError:
            switch error {
            case .notFound, .notInRegistry: return RPCError(code: .notFound, message: error.description)
            case .invalid, .invalidTag, .platformMismatch: return RPCError(code: .invalidArgument, message: error.description)
            case .unauthorized: return RPCError(code: .unauthenticated, message: error.description)
            case .conflict: return RPCError(code: .failedPrecondition, message: error.description)
            case .registryFailed: return RPCError(code: .unknown, message: error.description)
            }
        case let error as ContainerError:
            switch error {
            case .notFound: return RPCError(code: .notFound, message: error.description)
            case .invalid: return RPCError(code: .invalidArgument, message: error.description)
            case .conflict, .notModified: return RPCError(code: .failedPrecondition, message: error.description)
            case .startFailed, .failed: return RPCError(code: .unknown, message: error.description)
            }
        case let error as ReferenceError:
            return RPCError(code: .invalidArgument, message: error.description)
        case let other:
            return RPCError(code: .internalError, message: "\(other)")
        }
    }

    /// Runs `body`, answering what it throws as a status.
    static func answering<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw status(for: error)
        }
    }

    static func missing(_ field: String) -> RPCError {
        RPCError(code: .invalidArgument, message: "\(field) is required")
    }

    static func invalid(_ message: String) -> RPCError {
        RPCError(code: .invalidArgument, message: message)
    }

    static func exhausted(_ message: String) -> RPCError {
        RPCError(code: .resourceExhausted, message: message)
    }
}
