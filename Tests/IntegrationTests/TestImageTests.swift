import Foundation
import Testing

/// scripts/make-test-images: reproducible multi-arch OCI layouts from Debian packages, checked with
/// the reference tools (skopeo, umoci) and pushed through a real registry.
@Suite(.serialized) struct TestImageTests {
    static let script = TestPaths.repository + "/scripts/make-test-images"

    struct Built: Decodable {
        struct Layout: Decodable {
            var layout: String
            var refs: [String: String]
        }
        var layout: String
        var refs: [String: String]
        var layers: Layout
        var helloWorld: Layout
        /// Absent when built with `--no-debian`.
        var debian: Layout?

        enum CodingKeys: String, CodingKey {
            case layout, refs, layers, debian
            case helloWorld = "hello-world"
        }
    }

    /// The cached images (`make images` builds them before the tests: Debian's take minutes), or a
    /// fresh build into `output` without Debian's.
    static func build(into output: String?, force: Bool = false) throws -> Built {
        var arguments = [script]
        if let output { arguments += ["--output", output, "--no-debian"] }
        if force { arguments.append("--force") }
        let json = try Command.succeed(arguments, timeout: 2400)
        return try JSONDecoder().decode(Built.self, from: Data(json.utf8))
    }

    @Test func rebuildGivesIdenticalDigests() throws {
        let scratch = try TestPaths.makeScratch("images")
        defer { TestPaths.removeScratch(scratch) }
        let cached = try Self.build(into: nil)
        let fresh = try Self.build(into: scratch, force: true)
        #expect(cached.refs == fresh.refs)
        #expect(cached.layers.refs == fresh.layers.refs && fresh.layers.refs.keys.sorted() == ["berth-test/layers:latest"])
        #expect(cached.helloWorld.refs == fresh.helloWorld.refs && fresh.helloWorld.refs.keys.sorted() == ["berth-test/hello-world:latest"])
        #expect(fresh.debian == nil && cached.debian?.refs.keys.sorted() == ["berth-test/debian:amd64", "berth-test/debian:arm64",
                                                                              "berth-test/debian:latest"])
        #expect(Set(fresh.refs.keys) == [
            "berth-test/busybox:latest", "berth-test/busybox:amd64", "berth-test/busybox:arm64",
            "berth-test/busybox:arm-v7",
        ])
    }

    @Test func indexOffersThreePlatformsWithMatchingBinaries() throws {
        let built = try Self.build(into: nil)
        let raw = try Command.succeed(["skopeo", "inspect", "--raw", "oci:\(built.layout):latest"])
        let index = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as! [String: Any]
        let platforms = (index["manifests"] as! [[String: Any]]).map { entry -> String in
            let platform = entry["platform"] as! [String: String]
            return [platform["os"], platform["architecture"], platform["variant"]].compactMap { $0 }.joined(separator: "/")
        }
        #expect(platforms == ["linux/amd64", "linux/arm64", "linux/arm/v7"])

        // ELF e_machine of bin/busybox per image: x86-64 62, AArch64 183, ARM 40.
        for (tag, machine) in [("amd64", 62), ("arm64", 183), ("arm-v7", 40)] {
            let scratch = try TestPaths.makeScratch("unpack")
            defer { TestPaths.removeScratch(scratch) }
            try Command.succeed(["umoci", "unpack", "--image", "\(built.layout):\(tag)", scratch + "/bundle"])
            let rootfs = scratch + "/bundle/rootfs"
            let elf = try Data(contentsOf: URL(fileURLWithPath: rootfs + "/bin/busybox"))
            #expect(elf.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]))
            #expect(Int(elf[18]) | Int(elf[19]) << 8 == machine, "\(tag)")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/bin/sh") == "/bin/busybox")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/bin/uname") == "/bin/busybox")
        }
    }

    @Test func pushesThroughARealRegistry() async throws {
        let built = try Self.build(into: nil)
        try await RegistryFixture.with { registry in
            let destination = "docker://\(registry.address)/berth-test/busybox:latest"
            try Command.succeed(["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", "oci:\(built.layout):latest", destination])
            let digest = try Command.succeed(["skopeo", "inspect", "--tls-verify=false", "--raw", destination])
            let sha = try Command.succeed(["sha256sum"], timeout: 10, input: Data(digest.utf8))
            #expect("sha256:" + sha.prefix(64) == built.refs["berth-test/busybox:latest"])
        }
    }

    @Test func registryFixtureEnforcesBasicAuth() async throws {
        let built = try Self.build(into: nil)
        try await RegistryFixture.with(credentials: ("berth", "s3cret")) { registry in
            let destination = "docker://\(registry.address)/auth/busybox:amd64"
            let denied = try Command.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(built.layout):amd64", destination])
            #expect(denied.status != 0)
            #expect(denied.stderr.contains("unauthorized") || denied.stderr.contains("authentication required"))
            try Command.succeed(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "berth:s3cret", "oci:\(built.layout):amd64", destination])
        }
    }
}

extension Command {
    @discardableResult
    static func succeed(_ arguments: [String], timeout: TimeInterval, input: Data) throws -> String {
        let result = try run(arguments, input: input, timeout: timeout)
        guard result.status == 0 else { throw TestFailure("\(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)") }
        return result.stdout
    }
}
