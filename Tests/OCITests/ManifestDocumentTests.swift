import Foundation
import OCI
import Testing

@Suite struct ManifestDocumentTests {
    private let digest = "sha256:" + String(repeating: "ab", count: 32)

    private func manifest(layerType: String = MediaType.ociLayerGzip, layerSize: Int = 10, configSize: Int = 5) -> Data {
        Data("""
        {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)",
         "config":{"mediaType":"\(MediaType.ociConfig)","digest":"\(digest)","size":\(configSize)},
         "layers":[{"mediaType":"\(layerType)","digest":"\(digest)","size":\(layerSize)}]}
        """.utf8)
    }

    @Test func decodesAManifestWithLayersBerthCanUnpack() throws {
        guard case .manifest(let decoded) = try ManifestDocument(data: manifest(), mediaType: MediaType.ociManifest) else {
            Issue.record("a manifest decoded as an index")
            return
        }
        #expect(decoded.layers.map(\.size) == [10])
        #expect(decoded.config.digest.description == digest)
    }

    @Test func decodesAnIndexAndChoosesItsPlatform() throws {
        let index = Data("""
        {"schemaVersion":2,"manifests":[
          {"mediaType":"\(MediaType.ociManifest)","digest":"\(digest)","size":1,"platform":{"architecture":"arm64","os":"linux"}}]}
        """.utf8)
        guard case .index(let decoded) = try ManifestDocument(data: index, mediaType: MediaType.dockerManifestList) else {
            Issue.record("an index decoded as a manifest")
            return
        }
        #expect(decoded.manifest(for: try Platform(parsing: "linux/arm64"))?.digest.description == digest)
        #expect(decoded.manifest(for: try Platform(parsing: "linux/amd64")) == nil)
    }

    @Test func refusesWhatCannotBeUnpacked() {
        #expect(throws: ManifestDocumentError("layer \(digest) has unsupported media type application/x-foreign")) {
            try ManifestDocument(data: manifest(layerType: "application/x-foreign"), mediaType: MediaType.ociManifest)
        }
        #expect(throws: ManifestDocumentError("layer \(digest) has unsupported media type \(MediaType.ociLayerGzip)")) {
            try ManifestDocument(data: manifest(layerSize: -1), mediaType: MediaType.ociManifest)
        }
        #expect(throws: ManifestDocumentError("config \(digest) has a negative size")) {
            try ManifestDocument(data: manifest(configSize: -1), mediaType: MediaType.ociManifest)
        }
        #expect(throws: ManifestDocumentError("unsupported media type application/vnd.docker.distribution.manifest.v1+json")) {
            try ManifestDocument(data: manifest(), mediaType: "application/vnd.docker.distribution.manifest.v1+json")
        }
    }

    @Test(arguments: ["", "{", "[]", "{\"schemaVersion\":2}", "{\"config\":{\"digest\":\"sha256:1\"}}"])
    func refusesDocumentsThatDoNotDecode(text: String) {
        #expect(throws: ManifestDocumentError.self) { try ManifestDocument(data: Data(text.utf8), mediaType: MediaType.ociManifest) }
        #expect(throws: ManifestDocumentError.self) { try ManifestDocument(data: Data(text.utf8), mediaType: MediaType.ociIndex) }
    }
}
