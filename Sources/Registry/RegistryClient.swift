import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import OCI

/// A client of the OCI distribution API (v2) for pulling: manifests by tag or digest, blobs streamed
/// into a sink with their digest checked, bearer-token and basic auth, retries with backoff.
public final class RegistryClient: Sendable {
    public struct Configuration: Sendable {
        public var attempts: Int
        public var maximumManifestSize: Int

        public init(attempts: Int = 4, maximumManifestSize: Int = 4 << 20) {
            self.attempts = attempts
            self.maximumManifestSize = maximumManifestSize
        }
    }

    /// A fetched manifest or index, verified against its digest, and the host that served it.
    public struct FetchedManifest: Sendable {
        public var data: Data
        public var mediaType: String
        public var digest: Digest
        public var source: RegistryEndpoint
    }

    private let http: HTTPClient
    private let configuration: Configuration
    private let currentSettings: NIOLockedValueBox<RegistrySettings>
    private let tokens = TokenCache()

    public init(http: HTTPClient, settings: RegistrySettings, configuration: Configuration = .init()) {
        self.http = http
        self.configuration = configuration
        currentSettings = NIOLockedValueBox(settings)
    }

    /// Mirrors and insecure registries; replaced when the daemon reloads its configuration.
    public var settings: RegistrySettings {
        get { currentSettings.withLockedValue { $0 } }
        set { currentSettings.withLockedValue { $0 = newValue } }
    }

    /// GET `/v2/<path>/manifests/<tag or digest>`, from the first of the registry's hosts (Docker
    /// Hub's mirrors, then Docker Hub) that has it.
    public func manifest(_ reference: Reference, credentials: RegistryCredentials?) async throws -> FetchedManifest {
        try await withFallback(settings.pullEndpoints(for: reference.domain)) { endpoint in
            try await self.manifest(reference, from: endpoint, credentials: credentials)
        }
    }

    private func manifest(_ reference: Reference, from endpoint: RegistryEndpoint, credentials: RegistryCredentials?) async throws
        -> FetchedManifest
    {
        let selector = reference.digest?.description ?? reference.tag ?? Reference.defaultTag
        let url = endpoint.baseURL + "/v2/\(reference.path)/manifests/\(selector)"
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: MediaType.manifestAccept.joined(separator: ", "))
        let response = try await send(url: url, headers: headers, endpoint: endpoint, repository: reference, credentials: credentials)
        let body = try await collect(response, limit: configuration.maximumManifestSize, what: "manifest \(reference)")
        let data = Data(body.readableBytesView)
        let digest = DigestHasher.digest(of: data)
        if let expected = reference.digest, expected != digest {
            throw RegistryError.badManifest("\(reference): content digest \(digest) does not match")
        }
        if let header = response.headers.first(name: "Docker-Content-Digest"), let announced = try? Digest(parsing: header),
           announced != digest {
            throw RegistryError.badManifest("\(reference): registry announced \(announced) but sent \(digest)")
        }
        let headerType = response.headers.first(name: "Content-Type")?.split(separator: ";").first.map(String.init)
        let kind = try? JSONDecoder().decode(ManifestKind.self, from: data)
        guard let mediaType = kind?.resolvedMediaType ?? headerType else {
            throw RegistryError.badManifest("\(reference): neither an image manifest nor an index")
        }
        return FetchedManifest(data: data, mediaType: mediaType, digest: digest, source: endpoint)
    }

    /// GET `/v2/<path>/blobs/<digest>`, handing each chunk to `sink` as it arrives: from `source`
    /// (the host that served the manifest) first, then the registry's other hosts after it.
    /// The sink verifies size and digest; a failed attempt is retried from the start with a fresh sink.
    public func blob(
        _ descriptor: Descriptor, repository: Reference, source: RegistryEndpoint?, credentials: RegistryCredentials?,
        sink: @escaping @Sendable () throws -> BlobSink
    ) async throws {
        var endpoints = settings.pullEndpoints(for: repository.domain)
        if let source, let position = endpoints.firstIndex(of: source) {
            endpoints = Array(endpoints[position...])
        }
        try await withFallback(endpoints) { endpoint in
            let url = endpoint.baseURL + "/v2/\(repository.path)/blobs/\(descriptor.digest)"
            try await self.withRetries(url: url, attempts: endpoint.isMirror ? 1 : self.configuration.attempts) {
                let response = try await self.send(url: url, headers: [:], endpoint: endpoint, repository: repository,
                                                   credentials: credentials, retry: false)
                let destination = try sink()
                var body = response.body.makeAsyncIterator()
                do {
                    while true {
                        let chunk: ByteBuffer?
                        do {
                            chunk = try await body.next()
                        } catch {
                            // A broken transfer: worth another attempt.
                            throw RegistryError.unreachable(url, "transfer interrupted: \(error)")
                        }
                        guard let chunk else { break }
                        try destination.write(chunk.readableBytesView)
                    }
                    try destination.commit()
                } catch {
                    destination.abort()
                    throw error
                }
            }
        }
    }

    /// Tries each host in turn. A mirror that fails in any way (down, an error status, content it
    /// lacks or serves wrong) hands over to the next, as dockerd does. The last host's error is the
    /// one reported, unless it could not be reached at all and a mirror had answered that the
    /// content does not exist: then that answer is the more useful one.
    func withFallback<T>(_ endpoints: [RegistryEndpoint], _ body: (RegistryEndpoint) async throws -> T) async throws -> T {
        var mirrorAnswer: RegistryError?
        for endpoint in endpoints.dropLast() {
            do {
                return try await body(endpoint)
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as RegistryError {
                if case .notFound = error, mirrorAnswer == nil { mirrorAnswer = error }
            } catch {
                continue
            }
        }
        guard let last = endpoints.last else { throw RegistryError.unreachable("", "no registry host configured") }
        do {
            return try await body(last)
        } catch RegistryError.unreachable(let url, let reason) {
            if let mirrorAnswer { throw mirrorAnswer }
            throw RegistryError.unreachable(url, reason)
        }
    }

    // MARK: - HTTP

    /// Sends a request about one repository (pull scope, or pull+push), answering an auth challenge
    /// once; retries 5xx and broken connections (not on a mirror, which hands over instead) unless
    /// told not to. `body` makes the request body afresh for every attempt.
    func send(
        _ method: HTTPMethod = .GET, url: String, headers: HTTPHeaders, endpoint: RegistryEndpoint, repository: Reference,
        credentials: RegistryCredentials?, push: Bool = false, retry: Bool = true,
        body: (@Sendable () throws -> HTTPClientRequest.Body)? = nil
    ) async throws -> HTTPClientResponse {
        try await send(method, url: url, headers: headers, domain: endpoint.host,
                       scope: "repository:\(repository.path):\(push ? "pull,push" : "pull")",
                       credentials: credentials, retry: retry && !endpoint.isMirror, body: body)
    }

    func send(
        _ method: HTTPMethod, url: String, headers: HTTPHeaders, domain: String, scope: String?,
        credentials: RegistryCredentials?, retry: Bool, body: (@Sendable () throws -> HTTPClientRequest.Body)?
    ) async throws -> HTTPClientResponse {
        let attempt = { () async throws -> HTTPClientResponse in
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers = headers
            request.headers.add(name: "User-Agent", value: "berth")
            if let body { request.body = try body() }
            // Tokens are kept per credentials too: one client's login never serves another's request.
            let cacheScope = (scope ?? "") + " " + (credentials.map { DigestHasher.digest(of: Array("\($0.username):\($0.password)".utf8)).encoded } ?? "anonymous")
            if let authorization = await self.tokens.authorization(for: domain, scope: cacheScope) {
                request.headers.replaceOrAdd(name: "Authorization", value: authorization)
            }
            var response = try await self.execute(request, url: url)
            if response.status == .unauthorized, let header = response.headers.first(name: "WWW-Authenticate"),
               let challenge = AuthChallenge(header: header) {
                _ = try? await response.body.collect(upTo: 1 << 16)
                let authorization = try await self.authorize(challenge, domain: domain, scope: scope, credentials: credentials)
                await self.tokens.store(authorization, for: domain, scope: cacheScope)
                request.headers.replaceOrAdd(name: "Authorization", value: authorization)
                if let body { request.body = try body() }
                response = try await self.execute(request, url: url)
            }
            try await Self.check(response, url: url)
            return response
        }
        return retry ? try await withRetries(url: url, attempt) : try await attempt()
    }

    /// Checks credentials against a registry's `/v2/` endpoint, as `docker login` does.
    public func login(domain: String, credentials: RegistryCredentials) async throws {
        let endpoint = settings.endpoint(for: domain)
        let response = try await send(.GET, url: endpoint.baseURL + "/v2/", headers: [:], domain: endpoint.host, scope: nil,
                                      credentials: credentials, retry: true, body: nil)
        _ = try? await response.body.collect(upTo: 1 << 16)
    }

    private func execute(_ request: HTTPClientRequest, url: String) async throws -> HTTPClientResponse {
        do {
            return try await http.execute(request, timeout: .minutes(10))
        } catch {
            throw RegistryError.unreachable(url, "\(error)")
        }
    }

    private static func check(_ response: HTTPClientResponse, url: String) async throws {
        let code = Int(response.status.code)
        guard !(200..<300).contains(code) else { return }
        let body = (try? await response.body.collect(upTo: 1 << 16)).map { String(buffer: $0) } ?? ""
        let message = Self.registryErrorMessage(body)
        switch code {
        case 401, 403: throw RegistryError.unauthorized(message.isEmpty ? "authentication required for \(url)" : message)
        case 404: throw RegistryError.notFound(message.isEmpty ? url : "\(url): \(message)")
        default: throw RegistryError.http(status: code, url: url, message: message)
        }
    }

    /// The distribution API's `{"errors":[{"code":..., "message":...}]}`, flattened as dockerd prints it.
    static func registryErrorMessage(_ body: String) -> String {
        struct Errors: Decodable {
            struct Entry: Decodable { var code: String?; var message: String? }
            var errors: [Entry]
        }
        guard let errors = try? JSONDecoder().decode(Errors.self, from: Data(body.utf8)) else { return "" }
        // Docker's spelling of a code: MANIFEST_UNKNOWN is "manifest unknown".
        return errors.errors.map { entry in
            [entry.code.map { $0.lowercased().replacingOccurrences(of: "_", with: " ") }, entry.message].compactMap { $0 }
                .joined(separator: ": ")
        }.joined(separator: "; ")
    }

    func collect(_ response: HTTPClientResponse, limit: Int, what: String) async throws -> ByteBuffer {
        do {
            return try await response.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw RegistryError.tooLarge(what, limit)
        }
    }

    /// Retries server errors and broken connections with exponential backoff (0.2 s, 0.4 s, 0.8 s …).
    func withRetries<T>(url: String, attempts: Int? = nil, _ body: () async throws -> T) async throws -> T {
        var delay: UInt64 = 200_000_000
        for attemptNumber in 1... {
            do {
                return try await body()
            } catch let error as RegistryError {
                let transient: Bool
                switch error {
                case .http(let status, _, _): transient = status >= 500
                case .unreachable: transient = true
                default: transient = false
                }
                guard transient, attemptNumber < (attempts ?? configuration.attempts) else { throw error }
            }
            try await Task.sleep(nanoseconds: delay)
            delay *= 2
        }
        fatalError("unreachable")
    }

    // MARK: - Auth

    private func authorize(_ challenge: AuthChallenge, domain: String, scope: String?,
                           credentials: RegistryCredentials?) async throws -> String {
        switch challenge.scheme {
        case "basic":
            guard let credentials else { throw RegistryError.unauthorized("\(domain) requires a login (berth login \(domain))") }
            return "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
        case "bearer":
            guard let realm = challenge.parameters["realm"], var components = URLComponents(string: realm) else {
                throw RegistryError.unauthorized("\(domain) sent a bearer challenge without a realm")
            }
            var query = components.queryItems ?? []
            if let service = challenge.parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
            if let wanted = challenge.parameters["scope"] ?? scope { query.append(URLQueryItem(name: "scope", value: wanted)) }
            components.queryItems = query
            guard let tokenURL = components.string else { throw RegistryError.unauthorized("bad token realm \(realm)") }
            var request = HTTPClientRequest(url: tokenURL)
            if let credentials {
                request.headers.add(name: "Authorization", value: "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString())
            }
            let response = try await execute(request, url: tokenURL)
            try await Self.check(response, url: tokenURL)
            struct Token: Decodable { var token: String?; var access_token: String? }
            let body = try await collect(response, limit: 1 << 20, what: "token")
            guard let token = try? JSONDecoder().decode(Token.self, from: Data(body.readableBytesView)),
                  let value = token.token ?? token.access_token else {
                throw RegistryError.unauthorized("\(tokenURL) answered without a token")
            }
            return "Bearer " + value
        default:
            throw RegistryError.unauthorized("\(domain) asks for unsupported auth scheme \(challenge.scheme)")
        }
    }
}

/// Where a blob's bytes go; `commit` verifies them. The image store's `BlobWriter` is one.
/// Its errors (a size or digest mismatch) end the pull: a registry serving wrong bytes is not retried.
public protocol BlobSink: AnyObject {
    func write(_ bytes: ByteBufferView) throws
    func commit() throws
    func abort()
}

/// Authorization header values per registry and scope, reused across requests.
actor TokenCache {
    private var values: [String: String] = [:]

    func authorization(for domain: String, scope: String) -> String? {
        values["\(domain) \(scope)"]
    }

    func store(_ value: String, for domain: String, scope: String) {
        values["\(domain) \(scope)"] = value
    }
}
