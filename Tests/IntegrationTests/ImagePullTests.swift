import APIModels
import Foundation
import Testing

/// Pulls through a real registry, with berth, the docker CLI and docker-py.
@Suite(.serialized) struct ImagePullTests {
    /// The test images pushed to a fresh registry, and a daemon beside it.
    static func withPushedImage<T>(credentials: (String, String)? = nil,
                                   _ body: (RegistryFixture, DaemonFixture, TestImageTests.Built) async throws -> T) async throws -> T {
        let built = try TestImageTests.build(into: nil)
        return try await RegistryFixture.with(credentials: credentials) { registry in
            var copy = ["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false"]
            if let credentials { copy += ["--dest-creds", "\(credentials.0):\(credentials.1)"] }
            try Command.succeed(copy + ["oci:\(built.layout):latest", "docker://\(registry.address)/berth-test/busybox:latest"])
            return try await DaemonFixture.with { daemon in try await body(registry, daemon, built) }
        }
    }

    /// The config digest (image ID) of one platform's image in the OCI layout.
    static func configDigest(_ built: TestImageTests.Built, tag: String) throws -> String {
        let raw = try Command.succeed(["skopeo", "inspect", "--raw", "oci:\(built.layout):\(tag)"])
        let manifest = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as! [String: Any]
        return (manifest["config"] as! [String: Any])["digest"] as! String
    }

    @Test func berthPullsEveryPlatformOfTheIndex() async throws {
        try await Self.withPushedImage { registry, daemon, built in
            let name = "\(registry.address)/berth-test/busybox:latest"
            for platform in ["linux/amd64", "linux/arm64", "linux/arm/v7"] {
                let pull = try daemon.berth(["pull", "--platform", platform, name], timeout: 120)
                #expect(pull.status == 0, "\(pull.stderr)")
                #expect(pull.stdout.contains("Status: Downloaded newer image for \(name)"))
            }
            let listing = try daemon.berth(["images", "--format", "json"])
            let images = try JSONDecoder().decode([ImageSummary].self, from: Data(listing.stdout.utf8))
            let byPlatform = Dictionary(uniqueKeysWithValues: images.map { ($0.Platform ?? "", $0) })
            #expect(Set(byPlatform.keys) == ["linux/amd64", "linux/arm64", "linux/arm/v7"])
            for (platform, tag) in [("linux/amd64", "amd64"), ("linux/arm64", "arm64"), ("linux/arm/v7", "arm-v7")] {
                #expect(byPlatform[platform]?.Id == (try Self.configDigest(built, tag: tag)))
                #expect(byPlatform[platform]?.RepoTags == [name])
                #expect(byPlatform[platform]?.RepoDigests == ["\(registry.address)/berth-test/busybox@\(built.refs["berth-test/busybox:latest"]!)"])
            }
            let table = try daemon.berth(["images"])
            #expect(table.stdout.range(of: #"berth-test/busybox\s+latest\s+linux/arm64"#, options: .regularExpression) != nil)

            // Pulling again changes nothing and says so, once per layer.
            let again = try daemon.berth(["pull", "--platform", "linux/arm64", name])
            #expect(again.stdout.contains("Already exists") && again.stdout.contains("Image is up to date"))
            #expect(!again.stdout.contains("Pull complete"), "\(again.stdout)")
        }
    }

    @Test func dockerCLIPullInspectTagRmi() async throws {
        try await Self.withPushedImage { registry, daemon, built in
            let docker = ["docker", "-H", daemon.host]
            let name = "\(registry.address)/berth-test/busybox:latest"
            let pull = try Command.run(docker + ["pull", name], timeout: 120)
            #expect(pull.status == 0, "\(pull.stderr)")
            #expect(pull.stdout.contains("Pull complete"))

            let images = try Command.succeed(docker + ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
            let amd64ID = try Self.configDigest(built, tag: "amd64")
            #expect(images.trimmingCharacters(in: .whitespacesAndNewlines) == "\(name) \(amd64ID.dropFirst(7).prefix(12))")

            let inspect = try Command.succeed(docker + ["image", "inspect", name, "--format", "{{.Id}} {{.Architecture}} {{.Os}} {{len .RootFS.Layers}}"])
            #expect(inspect.trimmingCharacters(in: .whitespacesAndNewlines) == "\(amd64ID) amd64 linux 1")

            try Command.succeed(docker + ["tag", name, "\(registry.address)/copies/busybox:v1"])
            let tagged = try Command.succeed(docker + ["images", "--format", "{{.Repository}}:{{.Tag}}"])
            #expect(tagged.contains("\(registry.address)/copies/busybox:v1"))

            let untag = try Command.succeed(docker + ["rmi", "\(registry.address)/copies/busybox:v1"])
            #expect(untag.trimmingCharacters(in: .whitespacesAndNewlines) == "Untagged: \(registry.address)/copies/busybox:v1")
            let delete = try Command.succeed(docker + ["rmi", name])
            #expect(delete.contains("Deleted: \(amd64ID)"))
            // Garbage collection leaves no blob or snapshot behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/content/blobs/sha256").isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/snapshots").isEmpty)
            let missing = try Command.run(docker + ["image", "inspect", name])
            #expect(missing.status == 1 && missing.stderr.contains("No such image"))
        }
    }

    @Test func dockerPyPullsAPlatformAndLists() async throws {
        try await Self.withPushedImage { registry, daemon, built in
            let script = """
                import docker, json, sys
                client = docker.DockerClient(base_url=sys.argv[1])
                image = client.images.pull(sys.argv[2], tag="latest", platform="linux/arm64")
                print(json.dumps({"id": image.id, "arch": image.attrs["Architecture"],
                                  "listed": [i.id for i in client.images.list()]}))
                """
            let output = try Command.succeed(["python3", "-c", script, daemon.host, "\(registry.address)/berth-test/busybox"], timeout: 120)
            let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
            let arm64ID = try Self.configDigest(built, tag: "arm64")
            #expect(result["id"] as? String == arm64ID)
            #expect(result["arch"] as? String == "arm64")
            #expect(result["listed"] as? [String] == [arm64ID])
        }
    }

    @Test func pullErrorsAreClearAndLeaveNothingBehind() async throws {
        try await Self.withPushedImage { registry, daemon, _ in
            let unknownTag = try daemon.berth(["pull", "\(registry.address)/berth-test/busybox:nope"])
            #expect(unknownTag.status == 1 && unknownTag.stderr.contains("manifest unknown"))
            let noPlatform = try daemon.berth(["pull", "--platform", "linux/s390x", "\(registry.address)/berth-test/busybox"])
            #expect(noPlatform.status == 1)
            #expect(noPlatform.stderr.contains("no matching manifest for linux/s390x") && noPlatform.stderr.contains("linux/arm64"))
            let malformed = try daemon.berth(["pull", "\(registry.address)/UPPER/case"])
            #expect(malformed.status == 1 && malformed.stderr.contains("invalid reference format"))
            let badPlatform = try daemon.berth(["pull", "--platform", "linux//", "\(registry.address)/berth-test/busybox"])
            #expect(badPlatform.status == 1 && badPlatform.stderr.contains("invalid platform"))

            #expect(try daemon.berth(["images", "-q"]).stdout.isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/content/ingest").isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/snapshots").isEmpty)
        }
    }

    @Test func credentialsFromDockerConfigReachAnAuthenticatedRegistry() async throws {
        try await Self.withPushedImage(credentials: ("berth", "s3cret")) { registry, daemon, _ in
            let name = "\(registry.address)/berth-test/busybox:latest"
            let denied = try daemon.berth(["pull", name])
            #expect(denied.status == 1, "\(denied)")
            #expect(denied.stderr.contains(
                "pull access denied for \(registry.address)/berth-test/busybox, repository does not exist or may require 'docker login'"),
                "\(denied.stderr)")

            let config = daemon.scratch + "/docker-config"
            try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
            let auth = Data("berth:s3cret".utf8).base64EncodedString()
            try #"{"auths":{"\#(registry.address)":{"auth":"\#(auth)"}}}"#.write(toFile: config + "/config.json", atomically: true, encoding: .utf8)
            let allowed = try Command.run([TestPaths.berth, "-H", daemon.host, "pull", name], environment: ["DOCKER_CONFIG": config], timeout: 120)
            #expect(allowed.status == 0, "\(allowed.stderr)")
        }
    }
}
