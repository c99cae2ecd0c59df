import Foundation
import Testing

/// `kill -9` of berthd in the middle of a pull, and a registry serving corrupt content: the store
/// stays consistent and the next pull completes.
@Suite(.serialized) struct InterruptedPullTests {
    @Test func killedMidPullLeavesNoCorruptBlobOrDanglingReference() async throws {
        let built = try TestImageTests.build(into: nil)
        try await RegistryFixture.with { registry in
            let name = "\(registry.address)/berth-test/layers:latest"
            try Command.succeed(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(built.layers.layout):latest", "docker://\(name)"])
            let daemon = try DaemonFixture()
            defer { daemon.tearDown() }
            try daemon.start()

            let pull = Process()
            pull.executableURL = URL(fileURLWithPath: TestPaths.berth)
            pull.arguments = ["-H", daemon.host, "pull", name]
            pull.standardOutput = FileHandle.nullDevice
            pull.standardError = FileHandle.nullDevice
            try pull.run()
            defer { if pull.isRunning { kill(pull.processIdentifier, SIGKILL) } }

            // Kill the daemon as soon as a download is under way.
            let ingest = daemon.root + "/content/ingest"
            let deadline = Date().addingTimeInterval(60)
            var sawPartial = false
            while Date() < deadline, !sawPartial {
                let partials = (try? FileManager.default.contentsOfDirectory(atPath: ingest)) ?? []
                sawPartial = partials.contains { name in
                    ((try? FileManager.default.attributesOfItem(atPath: ingest + "/" + name)[.size]) as? NSNumber)?.int64Value ?? 0 > 0
                }
                if !sawPartial { usleep(2_000) }
            }
            #expect(sawPartial, "no download was seen in progress")
            daemon.signal(SIGKILL)
            pull.waitUntilExit()
            #expect(pull.terminationStatus != 0)

            try daemon.start()
            // Every blob that made it into the store is whole; partial downloads are gone.
            #expect(try FileManager.default.contentsOfDirectory(atPath: ingest).isEmpty)
            for blob in try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/content/blobs/sha256") {
                let sum = try Command.succeed(["sha256sum", daemon.root + "/content/blobs/sha256/" + blob])
                #expect(sum.hasPrefix(blob), "blob \(blob) is corrupt")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/snapshots").allSatisfy { !$0.hasPrefix(".") })
            #expect(try daemon.berth(["images", "-q"]).stdout.isEmpty, "no image may be recorded from a cut pull")

            let again = try daemon.berth(["pull", name], timeout: 300)
            #expect(again.status == 0, "\(again.stderr)")
            let inspect = try Command.succeed(["docker", "-H", daemon.host, "image", "inspect", name, "--format", "{{len .RootFS.Layers}}"])
            #expect(inspect.trimmingCharacters(in: .whitespacesAndNewlines) == "5")
        }
    }

    @Test func registryServingCorruptBytesIsCaughtAndTheStoreStaysUsable() async throws {
        try await ImagePullTests.withPushedImage { registry, daemon, built in
            // Overwrite the arm64 layer in the registry's storage with other bytes of the same size.
            let raw = try Command.succeed(["skopeo", "inspect", "--raw", "oci:\(built.layout):arm64"])
            let manifest = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as! [String: Any]
            let layer = ((manifest["layers"] as! [[String: Any]])[0]["digest"] as! String).dropFirst(7)
            let blob = registry.scratch + "/storage/docker/registry/v2/blobs/sha256/\(layer.prefix(2))/\(layer)/data"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: blob))
            bytes[bytes.count / 2] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: blob))

            let name = "\(registry.address)/berth-test/busybox:latest"
            let corrupt = try daemon.berth(["pull", "--platform", "linux/arm64", name], timeout: 120)
            #expect(corrupt.status == 1 && corrupt.stderr.contains("digest mismatch"), "\(corrupt.stderr)")
            #expect(!FileManager.default.fileExists(atPath: daemon.root + "/content/blobs/sha256/\(layer)"))
            #expect(try daemon.berth(["images", "-q"]).stdout.isEmpty)

            let good = try daemon.berth(["pull", "--platform", "linux/amd64", name], timeout: 120)
            #expect(good.status == 0, "\(good.stderr)")
        }
    }
}

/// A hostile layer arriving through a registry: refused, nothing written outside, store usable.
@Suite(.serialized) struct HostileRegistryTests {
    @Test func traversalLayerFromARegistryIsRefusedAndTheNextPullWorks() async throws {
        try await ImagePullTests.withPushedImage { registry, daemon, _ in
            let corpus = daemon.scratch + "/corpus"
            try Command.succeed([TestPaths.repository + "/Tests/Fixtures/make-hostile-layers", corpus, daemon.scratch + "/outside"])
            let hostile = "\(registry.address)/hostile/image:traversal"
            try Command.succeed(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(corpus)/layout:traversal", "docker://\(hostile)"])

            let refused = try daemon.berth(["pull", hostile], timeout: 120)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("refusing \"../../../../escaped-through-pull\": path escapes the layer root"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: daemon.root + "/../escaped-through-pull"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/snapshots").isEmpty)
            #expect(try daemon.berth(["images", "-q"]).stdout.isEmpty)

            let good = try daemon.berth(["pull", "\(registry.address)/berth-test/busybox:latest"], timeout: 120)
            #expect(good.status == 0, "\(good.stderr)")
        }
    }

    @Test func largeLayersArePushedInChunks() async throws {
        let built = try TestImageTests.build(into: nil)
        try await RegistryFixture.with { registry in
            try await DaemonFixture.with { daemon in
                let archive = daemon.scratch + "/layers.tar"
                try Command.succeed(["tar", "-cf", archive, "-C", built.layers.layout, "."])
                #expect(try daemon.berth(["load", "-i", archive]).status == 0)
                let target = "\(registry.address)/chunked/layers:v1"
                #expect(try daemon.berth(["tag", "berth-test/layers:latest", target]).status == 0)
                let push = try daemon.berth(["push", target], timeout: 300)
                #expect(push.status == 0, "\(push.stderr)")
                let raw = try Command.succeed(["skopeo", "inspect", "--tls-verify=false", "--raw", "docker://\(target)"])
                let expected = try Command.succeed(["skopeo", "inspect", "--raw", "oci:\(built.layers.layout):latest"])
                #expect(raw == expected)
                // Every blob, the 48 MiB one sent in 16 MiB chunks among them, arrived whole.
                let copy = daemon.scratch + "/copy"
                try Command.succeed(["skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://\(target)", "oci:\(copy):v1"])
            }
        }
    }
}
