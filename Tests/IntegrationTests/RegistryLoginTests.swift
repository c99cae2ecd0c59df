import Foundation
import Testing

/// `docker login` and `berth login` through berthd's `/auth`, credentials sent back as
/// `X-Registry-Auth`; `/distribution`; image prune.
@Suite(.serialized) struct RegistryLoginTests {
    @Test func dockerAndBerthLoginThenPull() async throws {
        try await ImagePullTests.withPushedImage(credentials: ("berth", "s3cret")) { registry, daemon, _ in
            let config = daemon.scratch + "/docker-config"
            let environment = ["DOCKER_CONFIG": config]
            let wrong = try Command.run(["docker", "-H", daemon.host, "login", "-u", "berth", "--password-stdin", registry.address],
                                        environment: environment, input: Data("wrong\n".utf8), timeout: 60)
            #expect(wrong.status != 0 && (wrong.stderr.contains("401") || wrong.stderr.contains("unauthorized")), "\(wrong.stderr)")

            let login = try Command.run(["docker", "-H", daemon.host, "login", "-u", "berth", "--password-stdin", registry.address],
                                        environment: environment, input: Data("s3cret\n".utf8), timeout: 60)
            #expect(login.status == 0 && login.stdout.contains("Login Succeeded"), "\(login.stderr)")
            let pull = try Command.run(["docker", "-H", daemon.host, "pull", "\(registry.address)/berth-test/busybox:latest"],
                                       environment: environment, timeout: 120)
            #expect(pull.status == 0, "\(pull.stderr)")

            let berthConfig = daemon.scratch + "/berth-config"
            let berthLogin = try Command.run([TestPaths.berth, "-H", daemon.host, "login", "-u", "berth", "--password-stdin", registry.address],
                                             environment: ["DOCKER_CONFIG": berthConfig], input: Data("s3cret\n".utf8))
            #expect(berthLogin.status == 0 && berthLogin.stdout.contains("Login Succeeded"), "\(berthLogin.stderr)")
            let attributes = try FileManager.default.attributesOfItem(atPath: berthConfig + "/config.json")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let berthPull = try Command.run([TestPaths.berth, "-H", daemon.host, "pull", "--platform", "linux/arm64", "\(registry.address)/berth-test/busybox"],
                                            environment: ["DOCKER_CONFIG": berthConfig], timeout: 120)
            #expect(berthPull.status == 0, "\(berthPull.stderr)")
        }
    }

    @Test func dockerPyRegistryDataListsPlatforms() async throws {
        try await ImagePullTests.withPushedImage { registry, daemon, built in
            let script = """
                import docker, json, sys
                client = docker.DockerClient(base_url=sys.argv[1])
                data = client.images.get_registry_data(sys.argv[2])
                print(json.dumps({"id": data.id, "platforms": sorted("/".join(filter(None, [p["os"], p["architecture"], p.get("variant")])) for p in data.attrs["Platforms"])}))
                """
            let output = try Command.succeed(["python3", "-c", script, daemon.host, "\(registry.address)/berth-test/busybox:latest"])
            let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
            #expect(result["id"] as? String == built.refs["berth-test/busybox:latest"])
            #expect(result["platforms"] as? [String] == ["linux/amd64", "linux/arm/v7", "linux/arm64"])
        }
    }

    @Test func pruneRemovesUnnamedThenAllImages() async throws {
        try await ImagePullTests.withPushedImage { registry, daemon, _ in
            let name = "\(registry.address)/berth-test/busybox:latest"
            for platform in ["linux/amd64", "linux/arm64"] {
                #expect(try daemon.berth(["pull", "-q", "--platform", platform, name], timeout: 120).status == 0)
            }
            // Both images are named, so a plain prune leaves them.
            let untouched = try daemon.berth(["image", "prune"])
            #expect(untouched.status == 0 && !untouched.stdout.contains("Deleted:"))
            let all = try daemon.berth(["image", "prune", "--all"])
            #expect(all.stdout.components(separatedBy: "Deleted: sha256:").count == 3, "\(all.stdout)")
            #expect(try daemon.berth(["images", "-q"]).stdout.isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/content/blobs/sha256").isEmpty)
        }
    }
}
