import OCI
import Testing

@Suite struct ReferenceTests {
    @Test(arguments: [
        ("busybox", "docker.io", "library/busybox", nil, "docker.io/library/busybox", "busybox"),
        ("berth-test/busybox:latest", "docker.io", "berth-test/busybox", "latest", "docker.io/berth-test/busybox:latest",
         "berth-test/busybox:latest"),
        ("127.0.0.1:5000/berth-test/busybox:v1.2", "127.0.0.1:5000", "berth-test/busybox", "v1.2",
         "127.0.0.1:5000/berth-test/busybox:v1.2", "127.0.0.1:5000/berth-test/busybox:v1.2"),
        ("localhost/a/b", "localhost", "a/b", nil, "localhost/a/b", "localhost/a/b"),
        ("registry.example/a__b/c-d.e:tag_1", "registry.example", "a__b/c-d.e", "tag_1", "registry.example/a__b/c-d.e:tag_1",
         "registry.example/a__b/c-d.e:tag_1"),
        ("localhost:5000/x", "localhost:5000", "x", nil, "localhost:5000/x", "localhost:5000/x"),
        ("docker.io/library/alpine:3.10", "docker.io", "library/alpine", "3.10", "docker.io/library/alpine:3.10", "alpine:3.10"),
        ("index.docker.io/alpine", "docker.io", "library/alpine", nil, "docker.io/library/alpine", "alpine"),
        ("docker.io/library/a/b", "docker.io", "library/a/b", nil, "docker.io/library/a/b", "library/a/b"),
    ] as [(String, String, String, String?, String, String)])
    func normalisesAsDockerDoes(text: String, domain: String, path: String, tag: String?, full: String, familiar: String) throws {
        let reference = try Reference(parsing: text)
        #expect(reference.domain == domain)
        #expect(reference.path == path)
        #expect(reference.tag == tag)
        #expect(reference.description == full)
        #expect(reference.familiarDescription == familiar)
    }

    @Test func everySpellingOfAnOfficialImageIsOne() throws {
        let spellings = ["alpine", "library/alpine", "docker.io/library/alpine:latest", "index.docker.io/library/alpine",
                         "docker.io/alpine:latest"]
        let normal = try Set(spellings.map { try Reference(parsing: $0).withDefaultTag })
        #expect(normal.count == 1)
        #expect(normal.first?.description == "docker.io/library/alpine:latest")
        #expect(Reference.familiar("docker.io/library/alpine:latest") == "alpine:latest")
        #expect(Reference.familiar("not a reference") == "not a reference")
        #expect(try Reference(parsing: "alpine").isDockerHub && !(try Reference(parsing: "localhost/alpine").isDockerHub))
    }

    @Test(arguments: ["", "r.example/UPPER", "a//b", "-a", "a-", "x:", "x:-tag", "r.example/x@sha256:short", "x@md5:00",
                      "a..b", "host:99999/x", String(repeating: "a", count: 256), "a/b:" + String(repeating: "t", count: 129),
                      String(repeating: "ab", count: 32)])
    func refusesMalformedReferences(text: String) {
        #expect(throws: ReferenceError.self) { try Reference(parsing: text) }
    }
}

@Suite struct DigestTests {
    @Test func parsesAndRefuses() throws {
        let hex = String(repeating: "0f", count: 32)
        #expect(try Digest(parsing: "sha256:" + hex).shortID == "0f0f0f0f0f0f")
        #expect(throws: DigestError.unsupportedAlgorithm("sha512")) { try Digest(parsing: "sha512:" + hex) }
        #expect(throws: DigestError.malformed("sha256:" + hex.uppercased())) { try Digest(parsing: "sha256:" + hex.uppercased()) }
        #expect(DigestHasher.digest(of: Array("".utf8)).description
            == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func indexSelectsByNormalisedPlatform() throws {
        func entry(_ platform: String, _ byte: String, type: String = MediaType.ociManifest) throws -> Descriptor {
            Descriptor(mediaType: type, digest: try Digest(sha256: String(repeating: byte, count: 64)), size: 1,
                       platform: DescriptorPlatform(try Platform(parsing: platform)))
        }
        let index = ImageIndex(manifests: [
            try entry("linux/amd64", "1"), try entry("linux/arm64", "2"), try entry("linux/arm/v7", "3"),
            try entry("linux/s390x", "4", type: "application/vnd.in-toto+json"),
        ])
        #expect(index.manifest(for: try Platform(parsing: "linux/aarch64"))?.digest.encoded.hasPrefix("2") == true)
        #expect(index.manifest(for: try Platform(parsing: "linux/arm"))?.digest.encoded.hasPrefix("3") == true)
        #expect(index.manifest(for: try Platform(parsing: "linux/s390x")) == nil, "attestations are not images")
        #expect(index.platforms.map(\.description) == ["linux/amd64", "linux/arm64", "linux/arm/v7"])
    }

    @Test func serverAddressesNameTheirRegistryAndDockerHubByAnySpelling() {
        for address in ["", "docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io", "https://registry-1.docker.io/v2/"] {
            #expect(Reference.domain(ofServerAddress: address) == "docker.io", "\(address)")
        }
        #expect(Reference.domain(ofServerAddress: "http://127.0.0.1:5000/v2/") == "127.0.0.1:5000")
        #expect(Reference.domain(ofServerAddress: "registry.example:5000") == "registry.example:5000")
    }
}
