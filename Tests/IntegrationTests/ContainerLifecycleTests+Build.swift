import Foundation
import Testing

extension ContainerLifecycleTests {
    /// A multi-stage build context: a build stage on the busybox test image that records the
    /// architecture and the context it was given, and a final stage from scratch.
    static func makeBuildContext(in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory + "/src", withIntermediateDirectories: true)
        try "greeting\n".write(toFile: directory + "/src/greeting.txt", atomically: true, encoding: .utf8)
        try "not for the image\n".write(toFile: directory + "/secret.log", atomically: true, encoding: .utf8)
        try "*.log\n".write(toFile: directory + "/.dockerignore", atomically: true, encoding: .utf8)
        try """
            # syntax=docker/dockerfile:1
            ARG BASE=berth-test/busybox:latest
            FROM ${BASE} AS build
            ARG TARGETARCH
            RUN uname -m > /arch && echo "building for $TARGETARCH"
            COPY . /ctx/
            RUN ls /ctx > /listing
            FROM scratch
            COPY --from=build /bin/busybox /bin/busybox
            COPY --from=build /arch /listing /
            COPY --chmod=600 src/greeting.txt /greeting.txt
            LABEL stage=final
            ENV GREETING="hi there"
            WORKDIR /work
            CMD ["/bin/busybox", "sh", "-c", "/bin/busybox cat /arch /listing /greeting.txt; echo $GREETING; /bin/busybox pwd"]

            """.write(toFile: directory + "/Dockerfile", atomically: true, encoding: .utf8)
    }

    /// `DOCKER_BUILDKIT=0 docker build` for amd64 and arm64 (RUN through qemu-user), both run; a
    /// rebuild is all cache hits; changing one COPY source reruns from that step on.
    @Test func dockerBuildsMultiStageImagesForBothArchitectures() async throws {
        try await Self.withImages { daemon in
            let context = daemon.scratch + "/context"
            try Self.makeBuildContext(in: context)
            func build(_ arguments: [String]) throws -> Command.Result {
                try Command.run(["docker", "-H", daemon.host, "build"] + arguments + [context], environment: ["DOCKER_BUILDKIT": "0"],
                                timeout: 300)
            }
            let amd64 = try build(["-t", "built:amd64"])
            #expect(amd64.status == 0 && amd64.stdout.contains("Successfully tagged built:amd64"), "\(amd64)")
            #expect(amd64.stdout.contains("building for amd64"), "RUN output is shown: \(amd64.stdout)")
            #expect(amd64.stdout.contains("Ignoring the syntax directive docker/dockerfile:1"), "\(amd64.stdout)")
            let arm64 = try build(["--platform", "linux/arm64", "-t", "built:arm64"])
            #expect(arm64.status == 0 && arm64.stdout.contains("building for arm64"), "\(arm64)")

            let expected = "Dockerfile\nsrc\ngreeting\nhi there\n/work\n"
            let nativeRun = try Self.docker(daemon, ["run", "--rm", "built:amd64"])
            #expect(nativeRun.stdout == "x86_64\n" + expected, "\(nativeRun)")
            let armRun = try Self.docker(daemon, ["run", "--rm", "--platform", "linux/arm64", "built:arm64"], timeout: 120)
            #expect(armRun.stdout == "aarch64\n" + expected, "\(armRun)")
            let inspected = try Self.docker(daemon, ["image", "inspect", "-f",
                                                     "{{.Architecture}} {{.Config.WorkingDir}} {{index .Config.Labels \"stage\"}}", "built:arm64"])
            #expect(inspected.stdout == "arm64 /work final\n", "\(inspected)")
            let mode = try Self.docker(daemon, ["run", "--rm", "--entrypoint", "/bin/busybox", "built:amd64", "stat", "-c", "%a", "/greeting.txt"])
            #expect(mode.stdout == "600\n", "\(mode)")

            let again = try build(["-t", "built:amd64"])
            #expect(again.status == 0 && !again.stdout.contains("Running in"), "\(again.stdout)")
            #expect(again.stdout.components(separatedBy: "Using cache").count - 1 == 10, "\(again.stdout)")

            try "changed greeting\n".write(toFile: context + "/src/greeting.txt", atomically: true, encoding: .utf8)
            let changed = try build(["-t", "built:amd64"])
            let steps = changed.stdout.components(separatedBy: "Step ").dropFirst()
            // Steps 1 and 6 are FROMs, step 2 an ARG: they never say where their result came from.
            let rerun = steps.filter { !$0.contains("Using cache") && !["1/", "2/", "6/"].contains(where: $0.hasPrefix) }
            #expect(rerun.map { String($0.prefix(5)) } == ["4/13 ", "5/13 ", "7/13 ", "8/13 ", "9/13 ", "10/13", "11/13", "12/13", "13/13"],
                    "only COPY . and what follows it run again: \(changed.stdout)")
            #expect(steps.first { $0.hasPrefix("3/") }?.contains("Using cache") == true)
            #expect(try Self.docker(daemon, ["run", "--rm", "built:amd64"]).stdout.contains("changed greeting"))
            #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty, "builds leave no containers")
        }
    }

    /// Errors name their Dockerfile line and leave no container behind; the berth CLI shows cached
    /// steps as CACHED; docker-py builds; a built image pushes to a registry skopeo reads.
    @Test func buildErrorsCLIDockerPyAndPush() async throws {
        try await Self.withImages { daemon in
            let context = daemon.scratch + "/context"
            try Self.makeBuildContext(in: context)
            func failing(_ dockerfile: String) throws -> Command.Result {
                try dockerfile.write(toFile: context + "/Bad.Dockerfile", atomically: true, encoding: .utf8)
                return try Command.run(["docker", "-H", daemon.host, "build", "-f", context + "/Bad.Dockerfile", context],
                                       environment: ["DOCKER_BUILDKIT": "0"], timeout: 120)
            }
            let unknown = try failing("FROM berth-test/busybox:latest\nFROMM x\n")
            #expect(unknown.status != 0 && unknown.stderr.contains("Dockerfile:2: unknown instruction: FROMM"), "\(unknown)")
            let exit3 = try failing("FROM berth-test/busybox:latest\nRUN true\nRUN exit 3\n")
            #expect(exit3.status != 0 && exit3.stderr.contains("Dockerfile:3: The command '/bin/sh -c exit 3' returned a non-zero code: 3"),
                    "\(exit3)")
            let missing = try failing("FROM berth-test/busybox:latest\nCOPY nowhere.txt /\n")
            #expect(missing.status != 0 && missing.stderr.contains("Dockerfile:2: nowhere.txt: no such file or directory"), "\(missing)")
            let ignored = try failing("FROM berth-test/busybox:latest\nCOPY secret.log /\n")
            #expect(ignored.status != 0 && ignored.stderr.contains("secret.log: no such file"), ".dockerignore'd: \(ignored)")
            let mountFlag = try failing("FROM berth-test/busybox:latest\nRUN --mount=type=cache,target=/c true\n")
            #expect(mountFlag.status != 0 && mountFlag.stderr.contains("Dockerfile:2: unknown flag: --mount"), "\(mountFlag)")
            let remote = try failing("FROM berth-test/busybox:latest\nADD http://example.invalid/x /\n")
            #expect(remote.status != 0 && remote.stderr.contains("builds run offline"), "\(remote)")
            let platform = try Command.run(["docker", "-H", daemon.host, "build", "--platform", "linux/nothing", context],
                                           environment: ["DOCKER_BUILDKIT": "0"])
            #expect(platform.status != 0, "\(platform)")
            #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty, "failed builds leave no containers")

            #expect(try daemon.berth(["build", "-t", "cli:1", context], timeout: 300).status == 0)
            let cached = try daemon.berth(["build", "-t", "cli:2", context], timeout: 120)
            #expect(cached.stdout.components(separatedBy: " ---> CACHED").count - 1 == 10, "\(cached.stdout)")

            let script = """
                import docker, sys
                client = docker.DockerClient(base_url=sys.argv[1])
                image, log = client.images.build(path=sys.argv[2], tag="py:1", rm=True)
                print("py:1" in image.tags, any("Successfully built" in line.get("stream", "") for line in log))
                """
            let python = try Command.succeed(["python3", "-c", script, daemon.host, context], timeout: 300)
            #expect(python == "True True\n", "\(python)")

            try await RegistryFixture.with { registry in
                let target = "\(registry.address)/built/app:1"
                #expect(try Self.docker(daemon, ["tag", "cli:1", target]).status == 0)
                let push = try Self.docker(daemon, ["push", target], timeout: 120)
                #expect(push.status == 0, "\(push)")
                let seen = try Command.run(["skopeo", "inspect", "--tls-verify=false", "docker://\(target)"])
                #expect(seen.status == 0 && seen.stdout.contains("\"Architecture\": \"amd64\""), "\(seen)")
                // A base image this daemon no longer has is pulled, as Docker's classic builder does,
                // unless the build says never; --pull fetches it again even when present.
                #expect(try Self.docker(daemon, ["rmi", target]).status == 0)
                try "FROM \(target)\nCMD [\"/bin/busybox\", \"true\"]\n".write(toFile: context + "/Pulled.Dockerfile", atomically: true, encoding: .utf8)
                let never = try daemon.berth(["build", "--pull=never", "-q", "-f", context + "/Pulled.Dockerfile", context])
                #expect(never.status != 0 && never.stderr.contains("No such image: \(target)"), "\(never)")
                let implicit = try Command.run(["docker", "-H", daemon.host, "build", "-q", "-f", context + "/Pulled.Dockerfile", context],
                                               environment: ["DOCKER_BUILDKIT": "0"], timeout: 120)
                #expect(implicit.status == 0 && implicit.stdout.hasPrefix("sha256:"), "\(implicit)")
                let pulled = try daemon.berth(["build", "--pull", "-f", context + "/Pulled.Dockerfile", context], timeout: 120)
                #expect(pulled.status == 0 && pulled.stdout.contains("Pulling \(target)"), "\(pulled)")
            }
        }
    }
}

extension ContainerLifecycleTests {
    /// SHELL, HEALTHCHECK and ONBUILD are stored in the image and a child build runs the trigger;
    /// ADD unpacks a local archive; --chown takes the image's user and group names; `images`
    /// leaves out what builds made along the way unless asked for all.
    @Test func buildStoresSettingsRunsTriggersAndUnpacksArchives() async throws {
        try await Self.withImages { daemon in
            let context = daemon.scratch + "/parent"
            try FileManager.default.createDirectory(atPath: context + "/bundle/inner", withIntermediateDirectories: true)
            try "packed\n".write(toFile: context + "/bundle/inner/file.txt", atomically: true, encoding: .utf8)
            try Command.succeed(["tar", "-cf", context + "/bundle.tar", "-C", context + "/bundle", "inner"])
            try "owned\n".write(toFile: context + "/owned.txt", atomically: true, encoding: .utf8)
            try """
                FROM \(Self.image)
                SHELL ["/bin/sh", "-ec"]
                HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- http://localhost/ || exit 1
                ONBUILD RUN echo triggered > /triggered
                ADD bundle.tar /opt/
                COPY --chown=nobody:nogroup owned.txt /owned

                """.write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
            let parent = try daemon.berth(["build", "-t", "parent:1", context], timeout: 300)
            #expect(parent.status == 0, "\(parent)")
            let settings = try Self.docker(daemon, ["image", "inspect", "-f",
                                                    "{{json .Config.Shell}} {{json .Config.Healthcheck}} {{json .Config.OnBuild}}", "parent:1"])
            #expect(settings.stdout == #"["/bin/sh","-ec"] {"Test":["CMD-SHELL","wget -q -O- http://localhost/ || exit 1"],"# +
                    #""Interval":5000000000,"Retries":2} ["RUN echo triggered > /triggered"]"# + "\n", "\(settings)")
            let files = try Self.docker(daemon, ["run", "--rm", "parent:1", "sh", "-c", "cat /opt/inner/file.txt; stat -c '%U:%G' /owned"])
            #expect(files.stdout == "packed\nnobody:nogroup\n", "\(files)")

            let child = daemon.scratch + "/child"
            try FileManager.default.createDirectory(atPath: child, withIntermediateDirectories: true)
            try "FROM parent:1\nCMD [\"cat\", \"/triggered\"]\n".write(toFile: child + "/Dockerfile", atomically: true, encoding: .utf8)
            let built = try daemon.berth(["build", "-t", "child:1", child], timeout: 300)
            #expect(built.status == 0 && built.stdout.contains("# Executing 1 build trigger"), "\(built)")
            #expect(try Self.docker(daemon, ["run", "--rm", "child:1"]).stdout == "triggered\n")
            let inherited = try Self.docker(daemon, ["image", "inspect", "-f", "{{json .Config.OnBuild}}", "child:1"])
            #expect(inherited.stdout == "null\n", "triggers are not passed on: \(inherited)")

            let listed = try Self.docker(daemon, ["images", "--format", "{{.Repository}}"]).stdout.split(separator: "\n")
            #expect(!listed.contains("<none>"), "\(listed)")
            let all = try Self.docker(daemon, ["images", "-a", "--format", "{{.Repository}}"]).stdout.split(separator: "\n")
            #expect(all.contains("<none>"), "\(all)")
        }
    }
}
