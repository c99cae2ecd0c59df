@testable import Registry
import Testing

@Suite struct AuthChallengeTests {
    @Test func bearerWithQuotedCommas() throws {
        let challenge = try #require(AuthChallenge(header: #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.parameters == ["realm": "https://auth.example/token", "service": "registry.example",
                                         "scope": "repository:a/b:pull,push"])
    }

    @Test func basicAndBareSchemes() throws {
        #expect(AuthChallenge(header: #"Basic realm="berth-test""#)?.scheme == "basic")
        #expect(AuthChallenge(header: "Negotiate")?.parameters == [:])
        #expect(AuthChallenge(header: "") == nil)
    }

    @Test func loopbackRegistriesUsePlainHTTP() {
        #expect(RegistryClient.isLoopback("127.0.0.1:5000"))
        #expect(RegistryClient.isLoopback("localhost:5000"))
        #expect(RegistryClient.isLoopback("[::1]:5000"))
        #expect(!RegistryClient.isLoopback("registry.example:5000"))
        #expect(RegistryClient.registryErrorMessage(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#)
            == "MANIFEST_UNKNOWN: manifest unknown")
    }
}
