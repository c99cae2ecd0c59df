import APIModels
import NIOCore
import NIOHTTP1
import SystemSupport

/// Maps `METHOD /path/{param}` to handlers, after Docker's version negotiation on the path prefix.
public struct Router: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse

    private struct Route: Sendable {
        var method: HTTPMethod
        var segments: [Substring]
        var spoolsBody: Bool
        var handler: Handler
    }

    private var routes: [Route] = []

    public init() {}

    /// Registers a handler; `{name}` segments bind to `request.parameters[name]`, and one `{name*}`
    /// binds one or more segments (image names contain slashes). GET routes answer HEAD too.
    /// With `spoolBody`, the request body (of any size) is written to a temp file, `request.bodyFile`.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, spoolBody: Bool = false, _ handler: @escaping Handler) {
        routes.append(Route(method: method, segments: pattern.split(separator: "/"), spoolsBody: spoolBody, handler: handler))
    }

    /// Whether the route for this request wants its body spooled to a file instead of buffered.
    public func spoolsBody(method: HTTPMethod, uri: String) -> Bool {
        let (rawPath, _) = HTTPRequest.split(uri: uri)
        guard case .success(let (path, _)) = Self.negotiate(path: rawPath) else { return false }
        let segments = path.split(separator: "/")
        return routes.contains { $0.method == method && $0.spoolsBody && Self.match($0.segments, segments) != nil }
    }

    /// Answers one request; never throws: failures become Docker-shaped error responses.
    public func respond(
        method: HTTPMethod, uri: String, headers: HTTPHeaders, body: ByteBuffer, bodyFile: String? = nil
    ) async -> HTTPResponse {
        let (rawPath, query) = HTTPRequest.split(uri: uri)
        let path: String
        let version: APIVersion
        switch Self.negotiate(path: rawPath) {
        case .success(let negotiated): (path, version) = negotiated
        case .failure(let error): return .error(error.status, error.message)
        }
        var request = HTTPRequest(
            method: method, path: path, query: query, headers: headers, body: body, bodyFile: bodyFile, apiVersion: version)
        let segments = path.split(separator: "/")
        var pathMatched = false
        for route in routes {
            guard let parameters = Self.match(route.segments, segments) else { continue }
            pathMatched = true
            guard route.method == method || (method == .HEAD && route.method == .GET) else { continue }
            request.parameters = parameters
            do {
                return try await route.handler(request)
            } catch let error as APIError {
                return .error(error.status, error.message)
            } catch {
                return .error(.internalServerError, "\(SystemError(foundation: error) ?? error)")
            }
        }
        return pathMatched
            ? .error(.methodNotAllowed, "method \(method.rawValue) is not allowed on \(path)")
            : .error(.notFound, "page not found")
    }

    /// Splits `/v1.NN/rest` into the rest and the version, refusing versions out of range as Docker does.
    static func negotiate(path: String) -> Result<(String, APIVersion), APIError> {
        guard path.hasPrefix("/v"), let versionEnd = path.dropFirst(2).firstIndex(of: "/") ?? Optional(path.endIndex)
        else { return .success((path, .current)) }
        let versionText = path[path.index(path.startIndex, offsetBy: 2)..<versionEnd]
        // Docker's router matches `/v{version:[0-9.]+}`; anything else is an ordinary path.
        guard !versionText.isEmpty, versionText.allSatisfy({ $0 == "." || $0.isASCII && $0.isNumber }) else {
            return .success((path, .current))
        }
        let rest = versionEnd == path.endIndex ? "/" : String(path[versionEnd...])
        guard let version = APIVersion(versionText) else {
            return .failure(.badRequest("invalid API version \"\(versionText)\": expected MAJOR.MINOR"))
        }
        if version > .current {
            return .failure(.badRequest(
                "client version \(version) is too new. Maximum supported API version is \(APIVersion.current)"))
        }
        if version < .minimum {
            return .failure(.badRequest(
                "client version \(version) is too old. Minimum supported API version is \(APIVersion.minimum), please upgrade your client to a newer version"))
        }
        return .success((rest, version))
    }

    private static func match(_ pattern: [Substring], _ segments: [Substring]) -> [String: String]? {
        if let wildcard = pattern.firstIndex(where: { $0.hasPrefix("{") && $0.hasSuffix("*}") }) {
            let suffixCount = pattern.count - wildcard - 1
            guard segments.count >= pattern.count,
                  var parameters = match(Array(pattern[..<wildcard]), Array(segments[..<wildcard])),
                  let suffix = match(Array(pattern[(wildcard + 1)...]), Array(segments[(segments.count - suffixCount)...]))
            else { return nil }
            parameters.merge(suffix) { $1 }
            parameters[String(pattern[wildcard].dropFirst().dropLast(2))] =
                segments[wildcard..<(segments.count - suffixCount)].joined(separator: "/")
            return parameters
        }
        guard pattern.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, segments) {
            if expected.hasPrefix("{") && expected.hasSuffix("}") {
                parameters[String(expected.dropFirst().dropLast())] = String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}
