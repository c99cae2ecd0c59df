import Foundation
import Testing

/// The one-way arrows between modules, read from the sources' imports: a change that crosses one
/// fails here rather than in review.
struct ModuleBoundaryTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// Every module a target's Swift files import.
    static func imports(of target: String) throws -> Set<String> {
        let root = sources.appendingPathComponent(target)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        var found = Set<String>()
        for case let file as URL in walker where file.pathExtension == "swift" {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                if words.count >= 2, words[0] == "import" || (words[0].hasPrefix("@") && words[1] == "import") {
                    found.insert(String(words[words[0] == "import" ? 1 : 2]))
                }
            }
        }
        return found
    }

    /// Routes speak the engine's types: the image store, the registry client and the runtimes stay behind it
    /// (TLS is the transport's, swift-nio-ssl; SystemSupport gives failed system calls their words).
    @Test func theAPIDependsOnlyOnTheEngineAndSharedVocabulary() throws {
        let allowed: Set<String> = ["Engine", "APIModels", "OCI", "HostModel", "SystemSupport", "Foundation", "Logging",
                                    "NIOCore", "NIOPosix", "NIOHTTP1", "NIOSSL", "NIOFoundationCompat", "NIOConcurrencyHelpers"]
        let imports = try Self.imports(of: "API")
        #expect(imports.contains("Engine"), "the reader found the API's imports")
        #expect(imports.isSubset(of: allowed), "API imports \(imports.subtracting(allowed).sorted())")
    }

    @Test(arguments: ["NativeRuntime", "VMRuntime"])
    func runtimesImportNeitherEachOtherNorWhatIsAboveThem(_ runtime: String) throws {
        let imports = try Self.imports(of: runtime)
        let above: Set<String> = ["NativeRuntime", "VMRuntime", "Engine", "API", "APIModels", "DaemonConfiguration"]
        #expect(imports.contains("Foundation"), "the reader found \(runtime)'s imports")
        #expect(imports.isDisjoint(with: above.subtracting([runtime])), "\(runtime) imports \(imports.intersection(above).sorted())")
    }

    @Test func theCLIImportsOnlyTheClientSide() throws {
        let allowed: Set<String> = ["APIClient", "APIModels", "HostModel", "OCI", "SystemSupport", "ArgumentParser", "Foundation",
                                    "NIOCore", "Glibc", "Dispatch", "CRIClient", "CRIProtocol", "GRPCCore", "SwiftProtobuf"]
        let imports = try Self.imports(of: "berth")
        #expect(imports.contains("APIClient"), "the reader found the CLI's imports")
        #expect(imports.isSubset(of: allowed), "the CLI imports \(imports.subtracting(allowed).sorted())")
    }

    /// The CRI server, like the Docker API, works through the engine: it names the store's image
    /// records the engine hands out, but never reaches the runtimes, networks or registry client.
    /// Its streaming server speaks HTTP and SPDY.
    @Test func theCRIDependsOnlyOnTheEngineAndItsProtocol() throws {
        let allowed: Set<String> = ["Engine", "CRIProtocol", "GRPCCore", "GRPCNIOTransportHTTP2Posix", "APIModels", "OCI", "HostModel",
                                    "ImageStore", "SystemSupport", "Foundation", "Logging", "NIOCore", "NIOPosix", "NIOHTTP1", "SPDY",
                                    "Synchronization"]
        let imports = try Self.imports(of: "CRI")
        #expect(imports.contains("Engine"), "the reader found the CRI's imports")
        #expect(imports.isSubset(of: allowed), "CRI imports \(imports.subtracting(allowed).sorted())")
    }

    /// SPDY is framing and sessions over any channel: it knows nothing of Kubernetes or Berth.
    @Test func spdyIsAProtocolLibraryOnly() throws {
        let imports = try Self.imports(of: "SPDY")
        #expect(imports.contains("NIOCore"), "the reader found SPDY's imports")
        #expect(imports.isSubset(of: ["NIOCore", "CZlib"]), "SPDY imports \(imports.subtracting(["NIOCore", "CZlib"]).sorted())")
    }
}
