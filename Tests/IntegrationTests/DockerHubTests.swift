import APIModels
import Foundation
import Testing

/// Docker Hub names through a loopback registry set as Docker Hub's mirror (by flag or in
/// daemon.json), with the docker CLI, docker-py and berth; every daemon here lives in a network
/// namespace with nothing but loopback, so the real Docker Hub is never reached.
@Suite(.serialized) struct DockerHubTests {
    static func docker(_ daemon: DaemonFixture, _ arguments: [String], timeout: TimeInterval = 120) throws -> Command.Result {
        try Command.run(["docker", "-H", daemon.host] + arguments, timeout: timeout)
    }

    @Test func dockerRunHelloWorldPullsImplicitlyFromTheMirror() async throws {
        try await DockerHubMirror.with { mirror in
            try await mirror.daemon(options: ["--registry-mirror", mirror.url]) { daemon in
                let run = try Self.docker(daemon, ["run", "--rm", "hello-world"])
                #expect(run.status == 0, "\(run)")
                #expect(run.stdout.contains("Hello from Berth!"), "\(run)")
                #expect(run.stderr.contains("Unable to find image 'hello-world:latest' locally"), "\(run.stderr)")
                #expect(run.stderr.contains("Status: Downloaded newer image for hello-world:latest"), "\(run.stderr)")
                let listed = try Self.docker(daemon, ["images", "--format", "{{.Repository}} {{.Tag}}"])
                #expect(listed.stdout == "hello-world latest\n", "\(listed)")
                #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty)
            }
        }
    }

    /// `--registry-mirror REGISTRY=URL` mirrors another registry, as an offline Kubernetes node
    /// mirrors registry.k8s.io: its names pull from the mirror and keep their own registry.
    @Test func anotherRegistrysNamesPullThroughItsMirror() async throws {
        try await DockerHubMirror.with { mirror in
            try await mirror.daemon(options: ["--registry-mirror", "registry.k8s.test=\(mirror.url)"]) { daemon in
                let pull = try daemon.berth(["pull", "registry.k8s.test/library/busybox:latest"])
                #expect(pull.status == 0, "\(pull)")
                let listed = try Self.docker(daemon, ["images", "--format", "{{.Repository}}:{{.Tag}}"])
                #expect(listed.stdout == "registry.k8s.test/library/busybox:latest\n", "\(listed)")
                let run = try daemon.berth(["run", "--rm", "registry.k8s.test/library/busybox", "echo", "mirrored"])
                #expect(run.stdout == "mirrored\n", "\(run)")
                // The mirror is that registry's only: Docker Hub's names and other registries' are not sent to it.
                #expect(try daemon.berth(["pull", "busybox"]).status != 0)
                #expect(try daemon.berth(["pull", "other.k8s.test/library/busybox"]).status != 0)
            }
        }
    }

    @Test func daemonJSONMirrorAndEverySpellingOfOneImage() async throws {
        try await DockerHubMirror.with { mirror in
            let config = try TestPaths.makeScratch("daemon-json") + "/daemon.json"
            defer { TestPaths.removeScratch((config as NSString).deletingLastPathComponent) }
            try #"{"registry-mirrors": ["\#(mirror.url)/"], "insecure-registries": ["registry.test:5000"]}"#
                .write(toFile: config, atomically: true, encoding: .utf8)
            try await mirror.daemon(options: ["--config-file", config]) { daemon in
                let pull = try Self.docker(daemon, ["pull", "alpine"])
                #expect(pull.status == 0, "\(pull)")
                #expect(pull.stdout.contains("latest: Pulling from library/alpine"), "\(pull.stdout)")
                #expect(pull.stdout.hasSuffix("docker.io/library/alpine:latest\n"), "\(pull.stdout)")
                let listed = try Self.docker(daemon, ["images", "--format", "{{.Repository}} {{.Tag}}"])
                #expect(listed.stdout == "alpine latest\n", "\(listed)")
                let ids = try ["alpine", "library/alpine", "docker.io/library/alpine:latest", "index.docker.io/library/alpine"].map {
                    try Self.docker(daemon, ["image", "inspect", "-f", "{{.Id}}", $0]).stdout
                }
                #expect(Set(ids).count == 1 && ids[0].hasPrefix("sha256:"), "\(ids)")
                let repoTags = try Self.docker(daemon, ["image", "inspect", "-f", "{{json .RepoTags}} {{len .RepoDigests}}", "alpine"])
                #expect(repoTags.stdout == "[\"alpine:latest\"] 1\n", "\(repoTags)")
                for pattern in ["alpine", "alpine:latest", "docker.io/library/alpine", "alp*"] {
                    let filtered = try Self.docker(daemon, ["images", "-q", "--filter", "reference=\(pattern)"])
                    #expect(filtered.stdout.split(separator: "\n").count == 1, "reference=\(pattern): \(filtered)")
                }
                let berth = try daemon.berth(["images"])
                #expect(berth.stdout.range(of: #"\nalpine\s+latest\s+linux/amd64"#, options: .regularExpression) != nil, "\(berth.stdout)")

                // What dockerd's info says about registries.
                let info = try Self.docker(daemon, ["info", "--format", "{{json .RegistryConfig}}"])
                let registryConfig = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any] ?? [:]
                #expect(registryConfig["Mirrors"] as? [String] == ["\(mirror.url)/"], "\(info)")
                #expect(registryConfig["InsecureRegistryCIDRs"] as? [String] == ["::1/128", "127.0.0.0/8"])
                let indexes = registryConfig["IndexConfigs"] as? [String: [String: Any]] ?? [:]
                #expect(indexes["docker.io"]?["Mirrors"] as? [String] == ["\(mirror.url)/"])
                #expect(indexes["docker.io"]?["Official"] as? Bool == true)
                #expect(indexes["registry.test:5000"]?["Secure"] as? Bool == false)

                // Untagging by a familiar name.
                let untag = try Self.docker(daemon, ["rmi", "alpine"])
                #expect(untag.stdout.hasPrefix("Untagged: alpine:latest\nUntagged: alpine@sha256:"), "\(untag)")
            }
        }
    }

    @Test func dockerPyPullsAndRunsByOfficialNames() async throws {
        try await DockerHubMirror.with { mirror in
            try await mirror.daemon(options: ["--registry-mirror", mirror.url]) { daemon in
                let script = """
                    import docker, json, sys
                    client = docker.DockerClient(base_url=sys.argv[1])
                    pinned = client.images.pull("alpine", tag="3.10")
                    output = client.containers.run("alpine", ["echo", "from alpine"], remove=True)
                    print(json.dumps({"tags": pinned.tags, "output": output.decode(),
                                      "listed": sorted(t for i in client.images.list() for t in i.tags)}))
                    """
                let output = try Command.succeed(["python3", "-c", script, daemon.host], timeout: 180)
                let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] ?? [:]
                #expect(result["tags"] as? [String] == ["alpine:3.10"], "\(output)")
                #expect(result["output"] as? String == "from alpine\n", "\(output)")
                #expect(result["listed"] as? [String] == ["alpine:3.10", "alpine:latest"], "\(output)")
            }
        }
    }

    @Test func berthRunPullsWhatIsMissingAsThePolicySays() async throws {
        try await DockerHubMirror.with { mirror in
            try await mirror.daemon(options: ["--registry-mirror", mirror.url]) { daemon in
                let never = try daemon.berth(["run", "--rm", "--pull", "never", "busybox", "true"])
                #expect(never.status == 125 && never.stderr.contains("No such image: busybox:latest"), "\(never)")
                #expect(try daemon.berth(["images", "-q"]).stdout.isEmpty)

                let run = try daemon.berth(["run", "--rm", "busybox", "echo", "hi"], timeout: 120)
                #expect(run.status == 0 && run.stdout == "hi\n", "\(run)")
                #expect(run.stderr.contains("Unable to find image 'busybox:latest' locally"), "\(run.stderr)")
                #expect(run.stderr.contains("latest: Pulling from library/busybox")
                        && run.stderr.contains("Status: Downloaded newer image for busybox:latest"), "\(run.stderr)")

                let create = try daemon.berth(["create", "--pull", "always", "--name", "again", "busybox", "true"], timeout: 120)
                #expect(create.status == 0 && create.stdout.count == 65, "\(create)")
                #expect(create.stderr.contains("Image is up to date for busybox:latest"), "\(create.stderr)")
                let image = try daemon.berth(["inspect", "-f", "{{.Config.Image}}", "again"])
                #expect(image.stdout == "busybox\n", "\(image)")

                let quiet = try daemon.berth(["pull", "-q", "alpine:3.10"])
                #expect(quiet.status == 0 && quiet.stdout == "docker.io/library/alpine:3.10\n", "\(quiet)")
            }
        }
    }

    @Test func platformLinuxMeansThisMachinesArchitecture() async throws {
        try await DockerHubMirror.with { mirror in
            try await mirror.daemon(options: ["--registry-mirror", mirror.url]) { daemon in
                let pull = try Self.docker(daemon, ["pull", "--platform=linux", "busybox"])
                #expect(pull.status == 0, "\(pull)")
                let arch = try Self.docker(daemon, ["image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", "busybox"])
                #expect(arch.stdout == "linux/amd64\n", "\(arch)")
                let docker = try Self.docker(daemon, ["run", "--rm", "--platform=linux", "busybox", "uname", "-m"])
                #expect(docker.status == 0 && docker.stdout == "x86_64\n", "\(docker)")
                let berth = try daemon.berth(["run", "--rm", "--platform", "linux", "alpine", "uname", "-m"], timeout: 120)
                #expect(berth.status == 0 && berth.stdout == "x86_64\n", "\(berth)")
                let berthPull = try daemon.berth(["pull", "--platform=linux", "hello-world"])
                #expect(berthPull.status == 0, "\(berthPull)")
            }
        }
    }

    @Test func missingImagesGetDockersWordsAndLeaveNothing() async throws {
        try await DockerHubMirror.with { mirror in
            try await mirror.daemon(options: ["--registry-mirror", mirror.url]) { daemon in
                // This registry answers MANIFEST_UNKNOWN for a repository it lacks too, and so dockerd
                // words both alike; the mirror's answer is given, not Docker Hub's unreachability.
                let repository = try Self.docker(daemon, ["pull", "nosuchimage"])
                #expect(repository.status == 1, "\(repository)")
                #expect(repository.stderr.contains("Error response from daemon: manifest for nosuchimage:latest not found: manifest unknown"),
                        "\(repository.stderr)")
                let tag = try Self.docker(daemon, ["pull", "alpine:nope"])
                #expect(tag.status == 1 && tag.stderr.contains("manifest for alpine:nope not found: manifest unknown"), "\(tag.stderr)")
                let berth = try daemon.berth(["pull", "nosuchimage:v1"])
                #expect(berth.status == 1 && berth.stderr.contains("manifest for nosuchimage:v1 not found"), "\(berth.stderr)")
                let run = try Self.docker(daemon, ["run", "--rm", "nosuchimage"])
                #expect(run.status == 125 && run.stderr.contains("manifest for nosuchimage:latest not found"), "\(run.stderr)")

                #expect(try Self.docker(daemon, ["images", "-aq"]).stdout.isEmpty)
                #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty)
                #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/content/ingest").isEmpty)
                #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/snapshots").isEmpty)
            }
        }
    }

    /// A mirror that is down, one that answers 503 to everything, and one missing a blob each hand
    /// over to the next host, as dockerd's do.
    @Test func failingMirrorsFallBackToTheNext() async throws {
        try await DockerHubMirror.with { mirror in
            let dead = "http://127.0.0.1:\(try RegistryFixture.freePort())"
            // A copy of the mirror with one layer taken away.
            try await RegistryFixture.with(network: mirror.network) { partial in
                try partial.push(layout: mirror.built.layout, tag: "latest", as: "library/busybox:latest")
                let amd64Layer = try Self.layerDigest(mirror.built.layout, tag: "amd64")
                try FileManager.default.removeItem(atPath: partial.blobPath(amd64Layer))
                // A front answering 503 to every request, in the same namespace.
                let log = partial.scratch + "/front.log"
                let frontPort = try RegistryFixture.freePort()
                _ = FileManager.default.createFile(atPath: log, contents: nil)
                let front = Process()
                front.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                front.arguments = mirror.network.command([TestPaths.repository + "/Tests/Fixtures/registry-front", "\(frontPort)",
                                                          "\(partial.port)", log, "--fail-always"])
                try front.run()
                defer {
                    kill(front.processIdentifier, SIGKILL)
                    front.waitUntilExit()
                }
                for _ in 0..<100 where (try? Command.run(mirror.network.command(["curl", "-s", "-o", "/dev/null",
                                                                                 "http://127.0.0.1:\(frontPort)/"]), timeout: 2).status) != 0 {
                    usleep(50_000)
                }
                let mirrors = [dead, "http://127.0.0.1:\(frontPort)", "http://\(partial.address)", mirror.url]
                try await mirror.daemon(options: mirrors.flatMap { ["--registry-mirror", $0] }) { daemon in
                    let pull = try daemon.berth(["pull", "busybox"], timeout: 120)
                    #expect(pull.status == 0, "\(pull)")
                    #expect(try String(contentsOfFile: log, encoding: .utf8).contains("503 always GET /v2/library/busybox/manifests/latest"))
                    // The partial mirror served the manifest; the blob it lacks came from the last one.
                    let run = try daemon.berth(["run", "--rm", "busybox", "echo", "whole"])
                    #expect(run.stdout == "whole\n", "\(run)")
                }
            }
        }
    }

    /// With no mirror and no network, a pull fails at once and says where it tried.
    @Test func noMirrorAndNoNetworkFailsFastNamingDockerHub() async throws {
        try await IsolatedNetwork.with { network in
            try await DaemonFixture.with(network: network) { daemon in
                let started = Date()
                let pull = try daemon.berth(["pull", "alpine"], timeout: 60)
                #expect(!pull.timedOut && Date().timeIntervalSince(started) < 30, "a pull with no network took \(Date().timeIntervalSince(started)) s")
                #expect(pull.status == 1 && pull.stderr.contains("registry-1.docker.io"), "\(pull)")
                let search = try daemon.berth(["search", "alpine"], timeout: 60)
                #expect(search.status == 1 && search.stderr.contains("index.docker.io"), "\(search)")
                #expect(try daemon.berth(["images", "-q"]).stdout.isEmpty)
            }
        }
    }

    @Test func searchListsARegistrysCatalog() async throws {
        try await DockerHubMirror.with { mirror in
            try await mirror.daemon(options: []) { daemon in
                let docker = try Self.docker(daemon, ["search", "\(mirror.registry.address)/alp"])
                #expect(docker.status == 0, "\(docker)")
                let lines = docker.stdout.split(separator: "\n")
                #expect(lines.first?.hasPrefix("NAME") == true && lines.count == 2, "\(docker.stdout)")
                #expect(lines.last?.hasPrefix("\(mirror.registry.address)/library/alpine") == true, "\(docker.stdout)")
                let berth = try daemon.berth(["search", "--format", "json", "--limit", "2", "\(mirror.registry.address)/library"])
                let results = try JSONDecoder().decode([ImageSearchResult].self, from: Data(berth.stdout.utf8))
                #expect(results.map(\.name) == ["\(mirror.registry.address)/library/alpine", "\(mirror.registry.address)/library/busybox"])
                let official = try daemon.berth(["search", "--filter", "is-official=true", "\(mirror.registry.address)/library"])
                #expect(official.status == 0 && official.stdout.split(separator: "\n").count == 1, "\(official)")
                let bad = try daemon.berth(["search", "--filter", "colour=red", "\(mirror.registry.address)/x"])
                #expect(bad.status == 1 && bad.stderr.contains("invalid filter 'colour'"), "\(bad)")
            }
        }
    }

    /// Builds pull a missing base image, as Docker's classic builder does, unless told never to.
    @Test func buildsPullTheirMissingBase() async throws {
        try await DockerHubMirror.with { mirror in
            try await mirror.daemon(options: ["--registry-mirror", mirror.url]) { daemon in
                let context = daemon.scratch + "/context"
                try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
                try "FROM alpine:3.10\nRUN echo built > /built\n".write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
                let never = try daemon.berth(["build", "--pull=never", "-t", "made", context])
                #expect(never.status == 1 && never.stderr.contains("No such image: alpine:3.10"), "\(never)")
                let build = try daemon.berth(["build", "-t", "made", context], timeout: 180)
                #expect(build.status == 0 && build.stdout.contains("Pulling alpine:3.10"), "\(build)")
                #expect(build.stdout.contains("Successfully tagged made:latest"), "\(build.stdout)")
                let again = try daemon.berth(["build", "--pull", "-t", "made", context], timeout: 180)
                #expect(again.status == 0 && again.stdout.contains("Pulling alpine:3.10"), "\(again)")
                let docker = try Command.run(["docker", "-H", daemon.host, "build", "-q", context],
                                             environment: ["DOCKER_BUILDKIT": "0"], timeout: 180)
                #expect(docker.status == 0, "\(docker)")
                let run = try Self.docker(daemon, ["run", "--rm", "made", "cat", "/built"])
                #expect(run.stdout == "built\n", "\(run)")
            }
        }
    }

    /// SIGHUP takes the configuration file's mirrors again; flags still win over the file.
    @Test func reloadPicksUpNewMirrors() async throws {
        try await DockerHubMirror.with { mirror in
            let scratch = try TestPaths.makeScratch("reload")
            defer { TestPaths.removeScratch(scratch) }
            let config = scratch + "/daemon.json"
            try #"{"bridge": "berthfile0"}"#.write(toFile: config, atomically: true, encoding: .utf8)
            try await mirror.daemon(options: ["--config-file", config]) { daemon in
                let before = try daemon.berth(["pull", "busybox"], timeout: 60)
                #expect(before.status == 1 && before.stderr.contains("registry-1.docker.io"), "\(before)")
                try #"{"bridge": "berthfile0", "registry-mirrors": ["\#(mirror.url)"]}"#.write(toFile: config, atomically: true, encoding: .utf8)
                daemon.signal(SIGHUP)
                try await waitForLog(daemon, containing: "registry settings reloaded")
                let after = try daemon.berth(["pull", "busybox"], timeout: 120)
                #expect(after.status == 0, "\(after)")
                // The fixture's --bridge flag won over the file's.
                let bridge = try Self.docker(daemon, ["network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.name\"}}", "bridge"])
                #expect(bridge.stdout == "\(daemon.bridge)\n", "\(bridge)")
            }
        }
    }

    /// The layer digest of one platform's image in an OCI layout.
    static func layerDigest(_ layout: String, tag: String) throws -> String {
        let raw = try Command.succeed(["skopeo", "inspect", "--raw", "oci:\(layout):\(tag)"])
        let manifest = try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any] ?? [:]
        return ((manifest["layers"] as? [[String: Any]])?.first?["digest"] as? String) ?? ""
    }
}

/// daemon.json: what berthd refuses, and the container defaults it sets.
@Suite(.serialized) struct DaemonConfigFileTests {
    @Test func aBadFileStopsTheDaemonWithTheKeyNamed() throws {
        let scratch = try TestPaths.makeScratch("bad-config")
        defer { TestPaths.removeScratch(scratch) }
        for directory in ["d", "m"] { try FileManager.default.createDirectory(atPath: scratch + "/" + directory, withIntermediateDirectories: true) }
        for (json, message) in [
            (#"{"registry-mirrors": ["http://127.0.0.1:1"], "colour": "blue"}"#,
             "the following directives don't match any configuration option: colour"),
            (#"{"registry-mirrors": ["127.0.0.1:5000"]}"#, "invalid value for registry-mirrors"),
            (#"{"default-ulimits": {"nofile": {"Name": "nofile", "Soft": 10, "Hard": 5}}}"#, "invalid value for default-ulimits"),
        ] {
            try json.write(toFile: scratch + "/daemon.json", atomically: true, encoding: .utf8)
            let daemon = try DaemonFixture(scratch: scratch + "/d", options: ["--config-file", scratch + "/daemon.json"])
            let process = try daemon.launch()
            process.waitUntilExit()
            #expect(process.terminationStatus == 1, "\(json)")
            #expect(daemon.log.contains("berthd: unable to configure berthd with file \(scratch)/daemon.json: \(message)"), "\(daemon.log)")
            #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
        }
        let missing = try DaemonFixture(scratch: scratch + "/m", options: ["--config-file", scratch + "/none.json"])
        let process = try missing.launch()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1 && missing.log.contains("none.json"), "\(missing.log)")
    }

    @Test func defaultLogOptionsAndUlimitsReachContainers() async throws {
        let scratch = try TestPaths.makeScratch("defaults")
        defer { TestPaths.removeScratch(scratch) }
        try #"{"log-opts": {"max-size": "1m", "max-file": "2"}, "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1234, "Hard": 2345}}}"#
            .write(toFile: scratch + "/daemon.json", atomically: true, encoding: .utf8)
        try await ContainerLifecycleTests.withImages(daemonOptions: ["--config-file", scratch + "/daemon.json"]) { daemon in
            let run = try daemon.berth(["run", "--name", "limited", ContainerLifecycleTests.image, "sh", "-c", "ulimit -n; ulimit -Hn"])
            #expect(run.stdout == "1234\n2345\n", "\(run)")
            let own = try daemon.berth(["run", "--rm", "--ulimit", "nofile=99:99", ContainerLifecycleTests.image, "sh", "-c", "ulimit -n"])
            #expect(own.stdout == "99\n", "\(own)")
            let inspect = try daemon.berth(["inspect", "-f", "{{json .HostConfig.LogConfig}}", "limited"])
            #expect(inspect.stdout == #"{"Config":{"max-file":"2","max-size":"1m"},"Type":"json-file"}"# + "\n", "\(inspect)")
        }
    }
}
