import ImageStore
import NativeRuntime
import SystemSupport

/// Why a container operation was refused; the API maps each case to Docker's status code.
public enum ContainerError: Error, CustomStringConvertible, Equatable {
    /// 404
    case notFound(String)
    /// 409: the container's state or name forbids it.
    case conflict(String)
    /// 400: the request asks for something impossible.
    case invalid(String)
    /// 304: already in the requested state.
    case notModified
    /// Setup or exec failed; the code is Docker's (125, 126, 127).
    case startFailed(code: Int32, message: String)
    /// 500: the runtime under the container failed (its shim is gone, its protocol broke).
    case failed(String)

    /// The exit code `docker run` reports for this failure.
    public var code: Int32 {
        if case .startFailed(let code, _) = self { return code }
        return 125
    }

    public var description: String {
        switch self {
        case .notFound(let message), .conflict(let message), .invalid(let message), .failed(let message): return message
        case .notModified: return "not modified"
        case .startFailed(_, let message): return message
        }
    }
}

extension ContainerError {
    /// The runtime's and the file layer's errors as container errors; any other error unchanged.
    public static func translating(_ error: Error) -> Error {
        switch StateStore.systemError(error) ?? error {
        case let error as ShimError: return ContainerError.failed(error.description)
        case let error as RootedFilesError: return ContainerError.notFound(error.description)
        case let error as ArchiveError: return ContainerError.invalid(error.description)
        case let error as SystemError: return ContainerError.failed(error.description)
        default: return SystemError(foundation: error).map { ContainerError.failed($0.description) } ?? error
        }
    }

    static func translatingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw translating(error)
        }
    }
}
