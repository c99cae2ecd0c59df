import Foundation
import ImageStore
import OCI
import Registry
import SystemSupport

public enum ImageError: Error, Equatable, CustomStringConvertible {
    case platformMismatch(String, wanted: Platform, actual: Platform)
    case invalidTag(String)
    case conflict(String)
    /// The registry has no such repository or tag, or will not say without a login.
    case notInRegistry(String)
    /// No such image here, or none of the platform asked for.
    case notFound(String)
    /// The request or the archive given is not acceptable (an ambiguous name, a malformed or hostile archive).
    case invalid(String)
    /// The registry refused the credentials, or wants some.
    case unauthorized(String)
    /// The registry failed otherwise: unreachable, an HTTP error, a manifest it should not serve.
    case registryFailed(String)

    public var description: String {
        switch self {
        case .platformMismatch(let reference, let wanted, let actual):
            return "image with reference \(reference) was found but its platform (\(actual)) does not match the specified platform (\(wanted))"
        case .invalidTag(let tag): return "refusing to create a tag with a digest reference: \(tag)"
        case .conflict(let message): return "conflict: \(message)"
        case .notInRegistry(let message), .notFound(let message), .invalid(let message), .unauthorized(let message),
             .registryFailed(let message):
            return message
        }
    }

    /// A registry's refusal in dockerd's words: `manifest for alpine:nope not found: …` for a
    /// missing tag, `pull access denied for nosuch, repository does not exist or may require
    /// 'docker login': …` for a missing (or private) repository. Other failures pass unchanged.
    static func pullFailed(_ reference: Reference, _ error: RegistryError) -> Error {
        switch error {
        case .notFound(let detail) where detail.contains("manifest unknown"):
            return ImageError.notInRegistry("manifest for \(reference.familiarDescription) not found: \(cause(detail))")
        case .notFound(let detail), .unauthorized(let detail):
            return ImageError.notInRegistry(
                "pull access denied for \(reference.familiarRepository), repository does not exist or may require 'docker login': \(cause(detail))")
        default:
            return error
        }
    }

    /// The registry's own words without the URL that `RegistryError` puts in front.
    private static func cause(_ detail: String) -> String {
        guard detail.hasPrefix("http"), let separator = detail.range(of: ": ") else { return detail }
        return String(detail[separator.upperBound...])
    }

    /// The image store's and the registry client's errors as the engine hands them out; others pass unchanged.
    public static func translating(_ error: Error) -> Error {
        switch StateStore.systemError(error) ?? error {
        case let error as CatalogError:
            switch error {
            case .notFound, .platformNotPresent: return ImageError.notFound(error.description)
            case .ambiguous: return ImageError.invalid(error.description)
            }
        case let error as ArchiveError: return ImageError.invalid(error.description)
        case let error as RegistryError:
            switch error {
            case .unauthorized: return ImageError.unauthorized(error.description)
            case .notFound, .noMatchingPlatform: return ImageError.notFound(error.description)
            default: return ImageError.registryFailed(error.description)
            }
        default: return SystemError(foundation: error) ?? error
        }
    }

    static func translatingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw translating(error) }
    }

    static func translatingErrors<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw translating(error) }
    }
}
