@testable import Registry
import Testing

@Suite struct RegistrySettingsTests {
    @Test func dockerHubGoesThroughMirrorsFirst() throws {
        let settings = try RegistrySettings(mirrors: ["http://127.0.0.1:5000/", "https://Mirror.Example"])
        #expect(settings.pullEndpoints(for: "docker.io") == [
            RegistryEndpoint(baseURL: "http://127.0.0.1:5000", isMirror: true),
            RegistryEndpoint(baseURL: "https://mirror.example", isMirror: true),
            RegistryEndpoint(baseURL: "https://registry-1.docker.io", isMirror: false),
        ])
        // Mirrors serve Docker Hub only; pushes and logins go to the registry itself.
        #expect(settings.pullEndpoints(for: "registry.example") == [RegistryEndpoint(baseURL: "https://registry.example", isMirror: false)])
        #expect(settings.endpoint(for: "docker.io").baseURL == "https://registry-1.docker.io")
        #expect(settings.endpoint(for: "index.docker.io").host == "registry-1.docker.io")
    }

    /// `REGISTRY=URL` mirrors another registry, as an offline Kubernetes node mirrors registry.k8s.io.
    @Test func otherRegistriesHaveTheirOwnMirrors() throws {
        let settings = try RegistrySettings(mirrors: ["Registry.K8s.io=http://127.0.0.1:5000/", "http://127.0.0.1:6000",
                                                      "gcr.io=https://mirror.example", "docker.io=http://127.0.0.1:7000"])
        #expect(settings.pullEndpoints(for: "registry.k8s.io") == [
            RegistryEndpoint(baseURL: "http://127.0.0.1:5000", isMirror: true),
            RegistryEndpoint(baseURL: "https://registry.k8s.io", isMirror: false),
        ])
        #expect(settings.pullEndpoints(for: "gcr.io").map(\.baseURL) == ["https://mirror.example", "https://gcr.io"])
        #expect(settings.mirrors == ["http://127.0.0.1:6000", "http://127.0.0.1:7000"])
        #expect(settings.pullEndpoints(for: "quay.io") == [RegistryEndpoint(baseURL: "https://quay.io", isMirror: false)])
        #expect(settings.endpoint(for: "registry.k8s.io").baseURL == "https://registry.k8s.io")
        #expect(settings.indexConfigs["registry.k8s.io"]?.mirrors == ["http://127.0.0.1:5000/"])
        #expect(throws: RegistrySettingsError.self) { try RegistrySettings(mirrors: ["not a host=http://127.0.0.1:5000"]) }
        #expect(throws: RegistrySettingsError.self) { try RegistrySettings(mirrors: ["registry.k8s.io=ftp://x"]) }
    }

    @Test func plainHTTPForLoopbackNamesAndRanges() throws {
        let settings = try RegistrySettings(insecureRegistries: ["registry.test:5000", "10.20.0.0/16", "Other.Test"])
        #expect(settings.isInsecure("127.0.0.1:5000") && settings.isInsecure("localhost:5000") && settings.isInsecure("[::1]:5000"))
        #expect(settings.isInsecure("registry.test:5000") && !settings.isInsecure("registry.test:5001"))
        #expect(settings.isInsecure("other.test:443"))
        #expect(settings.isInsecure("10.20.3.4:5000") && !settings.isInsecure("10.21.3.4:5000"))
        #expect(settings.endpoint(for: "10.20.3.4:5000").baseURL == "http://10.20.3.4:5000")
        #expect(settings.endpoint(for: "registry.example").baseURL == "https://registry.example")
        #expect(settings.insecureCIDRs.map(\.description) == ["::1/128", "127.0.0.0/8", "10.20.0.0/16"])
        #expect(settings.indexConfigs["docker.io"] == .init(name: "docker.io", mirrors: [], secure: true, official: true))
        #expect(settings.indexConfigs["registry.test:5000"]?.secure == false)
    }

    @Test(arguments: ["ftp://mirror", "mirror.example", "https://user:pw@mirror.example", "https://mirror.example/path",
                      "https://mirror.example/?q=1", "http://"])
    func refusesMirrorsDockerdRefuses(mirror: String) {
        #expect(throws: RegistrySettingsError.self) { try RegistrySettings(mirrors: [mirror]) }
    }

    @Test(arguments: ["http://r.example", "10.0.0.0/33", "bad host", "r.example:99999"])
    func refusesInsecureEntriesDockerdRefuses(entry: String) {
        #expect(throws: RegistrySettingsError.self) { try RegistrySettings(insecureRegistries: [entry]) }
    }

    @Test func rangesContainTheirAddressesOnly() throws {
        let range = try AddressRange(parsing: "192.168.1.77/24")
        #expect(range.description == "192.168.1.0/24")
        let inside = try #require(IPAddress("192.168.1.200")), outside = try #require(IPAddress("192.168.2.1"))
        #expect(range.contains(inside) && !range.contains(outside))
        let v6 = try AddressRange(parsing: "fd00::/8")
        let local = try #require(IPAddress("fd12::1")), link = try #require(IPAddress("fe80::1")), v4 = try #require(IPAddress("10.0.0.1"))
        #expect(v6.contains(local) && !v6.contains(link) && !v6.contains(v4))
    }

    @Test func catalogPagesFollowTheirLink() {
        #expect(RegistryClient.nextPage(#"</v2/_catalog?last=b&n=1000>; rel="next""#, base: "http://r:5000")
            == "http://r:5000/v2/_catalog?last=b&n=1000")
        #expect(RegistryClient.nextPage(nil, base: "http://r:5000") == nil)
    }
}
