import Foundation

/// A real registry standing in as Docker Hub's mirror, in a network namespace of its own with the
/// daemon under test: the test images under Docker Hub's names (`library/hello-world`,
/// `library/busybox`, `library/alpine:latest` and `:3.10`, `library/debian:bookworm`), and nothing
/// reachable beyond loopback, so no test ever talks to the real Docker Hub.
struct DockerHubMirror {
    let network: IsolatedNetwork
    let registry: RegistryFixture
    let built: TestImageTests.Built

    var url: String { "http://\(registry.address)" }

    /// What each official name is made of: a layout and its tag.
    static func contents(_ built: TestImageTests.Built, debian: Bool) -> [(layout: String, tag: String, name: String)] {
        var images = [
            (built.helloWorld.layout, "latest", "library/hello-world:latest"),
            (built.layout, "latest", "library/busybox:latest"),
            (built.layout, "latest", "library/alpine:latest"),
            (built.layout, "latest", "library/alpine:3.10"),
        ]
        if debian, let layout = built.debian?.layout { images.append((layout, "latest", "library/debian:bookworm")) }
        return images
    }

    /// Runs `body` with the mirror up and empty of nothing it should hold; `debian` adds the
    /// Debian images (large: only the tests that run them ask).
    static func with<T>(debian: Bool = false, _ body: (DockerHubMirror) async throws -> T) async throws -> T {
        let built = try TestImageTests.build(into: nil)
        if debian, built.debian == nil { throw TestFailure("the Debian test images are missing: run `make images`") }
        return try await IsolatedNetwork.with { network in
            try await RegistryFixture.with(network: network) { registry in
                for image in contents(built, debian: debian) {
                    try registry.push(layout: image.layout, tag: image.tag, as: image.name)
                }
                return try await body(DockerHubMirror(network: network, registry: registry, built: built))
            }
        }
    }

    /// A berthd in the mirror's namespace, with `options` (e.g. `--registry-mirror`).
    func daemon<T>(options: [String], _ body: (DaemonFixture) async throws -> T) async throws -> T {
        try await DaemonFixture.with(options: options, network: network, body)
    }
}
