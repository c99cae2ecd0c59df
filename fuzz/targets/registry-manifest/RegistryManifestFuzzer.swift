import Foundation
import FuzzDriver
import OCI
@testable import Registry

/// What a registry sends before any blob, on any bytes: the manifest or index as a pull reads it
/// (its kind, then the document for each type a registry may announce, then a platform chosen
/// from an index), the image config, the `WWW-Authenticate` challenge and the error body.
/// Errors are thrown, never crashes; and a document that decodes encodes back to itself.
@main
enum RegistryManifestFuzzer {
    static let announcedTypes = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest]
    static let platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"].map { try! Platform(parsing: $0) }

    static func main() {
        FuzzDriver.run { input in
            let data = Data(input)
            let kind = try? JSONDecoder().decode(ManifestKind.self, from: data)
            for mediaType in Set(announcedTypes + [kind?.resolvedMediaType].compactMap { $0 }) {
                guard let document = try? ManifestDocument(data: data, mediaType: mediaType) else { continue }
                switch document {
                case .index(let index):
                    for platform in platforms { _ = index.manifest(for: platform) }
                    _ = index.platforms
                    expectRoundTrip(index)
                case .manifest(let manifest):
                    expectRoundTrip(manifest)
                }
            }
            if let config = try? JSONDecoder().decode(ImageConfig.self, from: data) {
                _ = config.platform
                expectRoundTrip(config)
            }
            let text = String(decoding: input, as: UTF8.self)
            _ = AuthChallenge(header: text)
            _ = RegistryClient.registryErrorMessage(text)
            _ = try? Reference(parsing: text)
            _ = try? Digest(parsing: text)
        }
    }

    /// Berth stores what it pulled and reads it back later: what it writes must read as the same value.
    static func expectRoundTrip<Document: Codable & Equatable>(_ document: Document) {
        let encoded: Data
        do { encoded = try JSONEncoder().encode(document) } catch { fatalError("\(Document.self) does not encode: \(error)") }
        guard let decoded = try? JSONDecoder().decode(Document.self, from: encoded), decoded == document else {
            fatalError("\(Document.self) does not read back as itself: \(String(decoding: encoded, as: UTF8.self))")
        }
    }
}
