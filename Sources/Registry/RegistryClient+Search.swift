import APIModels
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI

extension RegistryClient {
    /// The most repositories a registry's catalog is read for, page by page.
    static let catalogLimit = 10_000

    /// `docker search`: a bare term asks Docker Hub's index; `host[:port]/term` lists that
    /// registry's catalog (`/v2/_catalog`, which every distribution registry serves) and keeps the
    /// repositories whose name holds the term, so a registry without a search API is searchable too.
    public func search(_ term: String, limit: Int, credentials: RegistryCredentials?) async throws -> [SearchResult] {
        let parts = term.split(separator: "/", maxSplits: 1).map(String.init)
        if parts.count == 2, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost",
           parts[0] != Reference.dockerHub, parts[0] != RegistrySettings.dockerHubIndex {
            return try await searchCatalog(of: parts[0], for: parts[1], limit: limit, credentials: credentials)
        }
        var query = term
        for prefix in ["\(Reference.dockerHub)/", "\(RegistrySettings.dockerHubIndex)/"] where query.hasPrefix(prefix) {
            query = String(query.dropFirst(prefix.count))
        }
        return try await searchDockerHub(query, limit: limit)
    }

    /// GET `https://index.docker.io/v1/search?q=TERM&n=LIMIT`.
    func searchDockerHub(_ term: String, limit: Int) async throws -> [SearchResult] {
        var components = URLComponents(string: "https://\(RegistrySettings.dockerHubIndex)/v1/search")!
        components.queryItems = [URLQueryItem(name: "q", value: term), URLQueryItem(name: "n", value: "\(limit)")]
        let url = components.string!
        let response = try await send(.GET, url: url, headers: [:], domain: RegistrySettings.dockerHubIndex, scope: nil,
                                      credentials: nil, retry: true, body: nil)
        let body = try await collect(response, limit: 4 << 20, what: "search results")
        struct Page: Decodable { var results: [SearchResult]? }
        guard let page = try? JSONDecoder().decode(Page.self, from: Data(body.readableBytesView)) else {
            throw RegistryError.http(status: 200, url: url, message: "not a search result")
        }
        return Array((page.results ?? []).prefix(limit))
    }

    /// GET `/v2/_catalog` (following its `Link` pages), filtered by `term` anywhere in the name.
    func searchCatalog(of domain: String, for term: String, limit: Int, credentials: RegistryCredentials?) async throws -> [SearchResult] {
        let endpoint = settings.endpoint(for: domain)
        var next: String? = endpoint.baseURL + "/v2/_catalog?n=1000"
        var repositories: [String] = []
        while let url = next, repositories.count < Self.catalogLimit {
            let response = try await send(.GET, url: url, headers: [:], domain: endpoint.host, scope: "registry:catalog:*",
                                          credentials: credentials, retry: true, body: nil)
            let body = try await collect(response, limit: 16 << 20, what: "catalog")
            struct Catalog: Decodable { var repositories: [String]? }
            guard let page = try? JSONDecoder().decode(Catalog.self, from: Data(body.readableBytesView)) else {
                throw RegistryError.http(status: 200, url: url, message: "not a catalog")
            }
            repositories += page.repositories ?? []
            next = Self.nextPage(response.headers.first(name: "Link"), base: endpoint.baseURL)
        }
        let wanted = term.lowercased()
        return repositories.filter { wanted.isEmpty || $0.lowercased().contains(wanted) }
            .prefix(limit)
            .map { SearchResult(name: "\(domain)/\($0)") }
    }

    /// The `rel="next"` target of a `Link: </v2/_catalog?last=x&n=1000>; rel="next"` header.
    static func nextPage(_ link: String?, base: String) -> String? {
        guard let link, link.contains("rel=\"next\""), let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"),
              open < close else { return nil }
        let target = String(link[link.index(after: open)..<close])
        return target.hasPrefix("http") ? target : base + target
    }
}
