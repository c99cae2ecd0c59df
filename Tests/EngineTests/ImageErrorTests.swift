import OCI
import Registry
import Testing
@testable import Engine

/// A registry's refusals in dockerd's words, whatever URL the registry error carries.
struct ImageErrorTests {
    @Test func missingTagsAndRepositoriesReadAsDockerd() throws {
        let tag = ImageError.pullFailed(try Reference(parsing: "alpine:nope"),
                                        .notFound("http://127.0.0.1:5000/v2/library/alpine/manifests/nope: manifest unknown: manifest unknown"))
        #expect("\(tag)" == "manifest for alpine:nope not found: manifest unknown: manifest unknown")
        let denied = ImageError.pullFailed(try Reference(parsing: "nosuch"), .unauthorized("unauthorized: authentication required"))
        #expect("\(denied)" == "pull access denied for nosuch, repository does not exist or may require 'docker login': "
            + "unauthorized: authentication required")
        let unknownName = ImageError.pullFailed(try Reference(parsing: "r.example/a/b:v1"),
                                                .notFound("https://r.example/v2/a/b/manifests/v1: name unknown: repository name not known to registry"))
        #expect("\(unknownName)" == "pull access denied for r.example/a/b, repository does not exist or may require 'docker login': "
            + "name unknown: repository name not known to registry")
        let unreachable = RegistryError.unreachable("https://registry-1.docker.io/v2/", "connection refused")
        #expect(ImageError.pullFailed(try Reference(parsing: "alpine"), unreachable) as? RegistryError == unreachable)
    }
}
