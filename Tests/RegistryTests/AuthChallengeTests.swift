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

    @Test func registryErrorsReadAsDockerdPrintsThem() {
        #expect(RegistryClient.registryErrorMessage(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#)
            == "manifest unknown: manifest unknown")
        #expect(RegistryClient.registryErrorMessage("not json") == "")
    }
}
