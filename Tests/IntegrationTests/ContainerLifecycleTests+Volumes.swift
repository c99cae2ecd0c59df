import Foundation
import Testing

extension ContainerLifecycleTests {
    @Test func namedAndAnonymousVolumes() async throws {
        try await Self.withImages { daemon in
            #expect(try Self.docker(daemon, ["volume", "create", "--label", "team=a", "data"]).stdout == "data\n")
            let mountpoint = try Self.docker(daemon, ["volume", "inspect", "-f", "{{.Mountpoint}} {{.Driver}} {{.Labels.team}}", "data"])
            #expect(mountpoint.stdout == daemon.root + "/volumes/data/_data local a\n", "\(mountpoint)")
            // Written by one container (at a path the image does not have), read by the next; read-only refuses writes.
            #expect(try Self.docker(daemon, ["run", "--rm", "-v", "data:/data", Self.image, "sh", "-c", "echo kept > /data/file"]).status == 0)
            #expect(try Self.docker(daemon, ["run", "--rm", "-v", "data:/data:ro", Self.image, "cat", "/data/file"]).stdout == "kept\n")
            let readOnly = try Self.docker(daemon, ["run", "--rm", "-v", "data:/data:ro", Self.image, "touch", "/data/other"])
            #expect(readOnly.status != 0 && readOnly.stderr.contains("Read-only file system"), "\(readOnly)")
            #expect(try String(contentsOfFile: daemon.root + "/volumes/data/_data/file", encoding: .utf8) == "kept\n")

            // A new volume on a directory of the image starts with the image's files, owners and modes; nocopy leaves it empty.
            #expect(try Self.docker(daemon, ["run", "--rm", "--mount", "type=volume,source=etc,target=/etc", Self.image, "true"]).status == 0)
            let copied = try String(contentsOfFile: daemon.root + "/volumes/etc/_data/passwd", encoding: .utf8)
            #expect(copied.hasPrefix("root:x:0:0:"), "\(copied)")
            let fresh = try Self.docker(daemon, ["run", "--rm", "--mount", "type=volume,source=bare,target=/etc,volume-nocopy",
                                                 Self.image, "ls", "-A", "/etc"])
            #expect(fresh.status == 0 && fresh.stdout.isEmpty, "\(fresh)")

            // In use, even by a stopped container, a volume stays; removed with its last user, its files go.
            #expect(try Self.docker(daemon, ["create", "--name", "holder", "-v", "data:/data", Self.image, "true"]).status == 0)
            let inUse = try Self.docker(daemon, ["volume", "rm", "data"])
            #expect(inUse.status != 0 && inUse.stderr.contains("remove data: volume is in use - ["), "\(inUse)")
            let mounts = try Self.docker(daemon, ["inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}}{{end}}", "holder"])
            #expect(mounts.stdout == "volume data /data true\n", "\(mounts)")
            #expect(try Self.docker(daemon, ["rm", "holder"]).status == 0)
            #expect(try Self.docker(daemon, ["volume", "rm", "data"]).status == 0)
            #expect(!FileManager.default.fileExists(atPath: daemon.root + "/volumes/data"))
            let missing = try Self.docker(daemon, ["volume", "inspect", "data"])
            #expect(missing.status != 0 && missing.stderr.contains("no such volume"), "\(missing)")

            // Anonymous volumes: `-v /path` makes one per container; `rm -v` and `--rm` take it away, prune the rest.
            #expect(try Self.docker(daemon, ["run", "--rm", "-v", "/scratch", Self.image, "touch", "/scratch/x"]).status == 0)
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "anon", "-v", "/scratch", Self.image, "sleep", "300"]).status == 0)
            let anonymous = try Self.docker(daemon, ["volume", "ls", "-q", "--filter", "label=com.docker.volume.anonymous"]).stdout
                .split(separator: "\n")
            #expect(anonymous.count == 1 && anonymous[0].count == 64, "\(anonymous)")
            #expect(try Self.docker(daemon, ["rm", "-fv", "anon"]).status == 0)
            #expect(try Self.docker(daemon, ["run", "--name", "left", "-v", "/scratch", Self.image, "true"]).status == 0)
            #expect(try Self.docker(daemon, ["rm", "left"]).status == 0)
            let left = Set(try Self.docker(daemon, ["volume", "ls", "-q"]).stdout.split(separator: "\n").map(String.init))
            #expect(left.count == 3 && left.isSuperset(of: ["bare", "etc"]), "\(left)")
            let prune = try Self.docker(daemon, ["volume", "prune", "-f"])
            #expect(prune.status == 0, "\(prune)")
            #expect(try Self.docker(daemon, ["volume", "ls", "-q"]).stdout == "bare\netc\n")
            #expect(try Self.docker(daemon, ["volume", "prune", "-af"]).stdout.contains("bare\n"))
            #expect(try Self.docker(daemon, ["volume", "ls", "-q"]).stdout.isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/volumes").isEmpty)
            let events = try Self.docker(daemon, ["events", "--since", "0", "--until", "\(Int(Date().timeIntervalSince1970) + 1)",
                                                  "--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}"])
            // Every volume made (named, copied-up, anonymous) has its create and its destroy.
            let actions = events.stdout.split(separator: "\n")
            #expect(events.stdout.hasPrefix("create data local\ncreate etc local\n") && events.stdout.contains("destroy data local\n")
                        && actions.filter { $0.hasPrefix("create ") }.count == 6 && actions.filter { $0.hasPrefix("destroy ") }.count == 6,
                    "\(events)")
        }
    }

    @Test func bindAndTmpfsMountsAndBadMounts() async throws {
        try await Self.withImages { daemon in
            let shared = daemon.scratch + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            try "from the host\n".write(toFile: shared + "/in", atomically: true, encoding: .utf8)
            // A host directory both ways, a single file at a new nested path, and read-only binds.
            #expect(try Self.docker(daemon, ["run", "--rm", "-v", shared + ":/shared", Self.image, "sh", "-c",
                                             "cat /shared/in && echo back > /shared/out"]).stdout == "from the host\n")
            #expect(try String(contentsOfFile: shared + "/out", encoding: .utf8) == "back\n")
            #expect(try Self.docker(daemon, ["run", "--rm", "-v", shared + "/in:/deep/er/in", Self.image, "cat", "/deep/er/in"])
                .stdout == "from the host\n")
            let readOnly = try Self.docker(daemon, ["run", "--rm", "--mount", "type=bind,source=\(shared),target=/shared,readonly",
                                                    Self.image, "touch", "/shared/nope"])
            #expect(readOnly.status != 0 && !FileManager.default.fileExists(atPath: shared + "/nope"), "\(readOnly)")
            // tmpfs: sized, and never exec, suid or dev.
            let tmpfs = try Self.docker(daemon, ["run", "--rm", "--tmpfs", "/fast:size=2m,mode=1770", Self.image, "grep", " /fast ", "/proc/mounts"])
            #expect(tmpfs.stdout.hasPrefix("tmpfs /fast tmpfs rw,nosuid,nodev,noexec,") && tmpfs.stdout.contains("size=2048k,mode=1770"), "\(tmpfs)")

            // Bad mounts: a clear error, exit 125, and no container or volume made.
            let socket = shared + "/listening.sock"
            _ = try Command.succeed(["python3", "-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", socket])
            let bad: [([String], String)] = [
                (["-v", daemon.scratch + "/nowhere:/x"], "bind source path does not exist: \(daemon.scratch)/nowhere"),
                (["--mount", "type=bind,source=\(daemon.scratch)/nowhere,target=/x"], "bind source path does not exist"),
                (["-v", "fine:/x", "-v", shared + ":/x"], "Duplicate mount point: /x"),
                (["-v", "fine:relative"], "mount path must be absolute"),
                (["-v", "not/a/name:/x"], "includes invalid characters for a local volume name"),
                (["-v", "fine:/x:bogus"], "invalid mode: bogus"),
                (["--tmpfs", "/t:exec"], "always nosuid, nodev and noexec"),
                (["-v", socket + ":/s", "--isolation", "vm"], "\(socket) is a socket or device, which a container in a utility VM cannot reach"),
            ]
            for (arguments, message) in bad {
                let result = try Self.docker(daemon, ["run", "--name", "bad"] + arguments + [Self.image, "true"])
                #expect(result.status == 125 && result.stderr.contains(message), "\(arguments): \(result)")
            }
            #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty)
            #expect(try Self.docker(daemon, ["volume", "ls", "-q"]).stdout.isEmpty)
            let mounts = TestPaths.mountInfo()
            #expect(!mounts.contains(daemon.root))
        }
    }

    @Test func volumesAcrossNativeAndUtilityVMContainers() async throws {
        try Self.armGuests()
        try await Self.withImages { daemon in
            let shared = daemon.scratch + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            try "from the host\n".write(toFile: shared + "/in", atomically: true, encoding: .utf8)
            // Written in an arm64 VM (over 9p), read natively, with the owner and mode the guest gave it.
            let written = try Self.docker(daemon, ["run", "--rm", "--platform", "linux/arm64", "-v", "mixed:/data", Self.multiArchImage,
                                                   "sh", "-c", "uname -m; mkdir /data/sub && echo from-arm64 > /data/sub/note && chown 7:7 /data/sub/note"],
                                          timeout: 120)
            #expect(written.status == 0 && written.stdout == "aarch64\n", "\(written)")
            #expect(try Self.docker(daemon, ["run", "--rm", "-v", "mixed:/data", Self.image, "sh", "-c", "cat /data/sub/note; stat -c %u:%g /data/sub/note"])
                .stdout == "from-arm64\n7:7\n")
            // Read-only binds and tmpfs in an x86_64 VM; what the host writes while it runs shows at once.
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "vm", "--isolation", "vm", "-v", shared + ":/shared:ro",
                                             "-v", "mixed:/data", "--tmpfs", "/fast", Self.image, "sleep", "300"], timeout: 120).status == 0)
            #expect(try Self.docker(daemon, ["exec", "vm", "cat", "/shared/in", "/data/sub/note"]).stdout == "from the host\nfrom-arm64\n")
            let readOnly = try Self.docker(daemon, ["exec", "vm", "touch", "/shared/new"])
            #expect(readOnly.status != 0 && !FileManager.default.fileExists(atPath: shared + "/new"), "\(readOnly)")
            try "later\n".write(toFile: shared + "/later", atomically: true, encoding: .utf8)
            #expect(try Self.docker(daemon, ["exec", "vm", "cat", "/shared/later"]).stdout == "later\n")
            #expect(try Self.docker(daemon, ["exec", "vm", "sh", "-c", "grep -c ' /fast tmpfs ' /proc/mounts"]).stdout == "1\n")
            let inUse = try Self.docker(daemon, ["volume", "rm", "mixed"])
            #expect(inUse.status != 0 && inUse.stderr.contains("volume is in use"), "\(inUse)")
            #expect(try Self.docker(daemon, ["rm", "-f", "vm"]).status == 0)
            #expect(try Self.docker(daemon, ["volume", "rm", "mixed"]).status == 0)
        }
    }

    /// An image's VOLUME in a utility VM is a host volume as natively (filled with the image's files,
    /// listed, kept by `rm` without `-v`), and single files bind in read-only and read-write.
    @Test func imageVolumesAndSingleFileBindsInUtilityVMs() async throws {
        try Self.armGuests()
        try await Self.withImages { daemon in
            let context = daemon.scratch + "/volume-image"
            try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
            try "seeded\n".write(toFile: context + "/seed", atomically: true, encoding: .utf8)
            try "FROM \(Self.multiArchImage)\nCOPY seed /seeded/seed\nVOLUME /seeded\n"
                .write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
            let built = try Command.run(["docker", "-H", daemon.host, "build", "--platform", "linux/arm64", "-q", "-t", "vm-volume:arm64", context],
                                        environment: ["DOCKER_BUILDKIT": "0"], timeout: 300)
            #expect(built.status == 0, "\(built)")
            let ran = try Self.docker(daemon, ["run", "--name", "seeded", "--platform", "linux/arm64", "vm-volume:arm64",
                                               "sh", "-c", "uname -m; cat /seeded/seed; echo kept > /seeded/kept; grep -c ' /seeded 9p ' /proc/mounts"],
                                      timeout: 120)
            #expect(ran.status == 0 && ran.stdout == "aarch64\nseeded\n1\n", "\(ran)")
            let volume = try Self.docker(daemon, ["inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}", "seeded"])
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
            #expect(volume.count == 3 && volume[0] == "volume" && volume[2] == "/seeded", "\(volume)")
            let name = volume.count == 3 ? volume[1] : "none"
            #expect(try Self.docker(daemon, ["volume", "ls", "-q"]).stdout == name + "\n")
            #expect(try Self.docker(daemon, ["rm", "seeded"]).status == 0)
            #expect(try Self.docker(daemon, ["run", "--rm", "-v", name + ":/v", Self.image, "cat", "/v/seed", "/v/kept"]).stdout == "seeded\nkept\n")
            let removed = try Self.docker(daemon, ["volume", "rm", name])
            #expect(removed.status == 0, "\(removed)")

            // Single files: read-only stays unwritten; read-write writes the host's file in place;
            // the rest of the file's directory is not in the container.
            let files = daemon.scratch + "/files"
            try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
            try "settings\n".write(toFile: files + "/app.conf", atomically: true, encoding: .utf8)
            try "0\n".write(toFile: files + "/counter", atomically: true, encoding: .utf8)
            try "secret\n".write(toFile: files + "/sibling", atomically: true, encoding: .utf8)
            let script = "cat /etc/app.conf; echo x >> /etc/app.conf || echo refused; echo 1 > /var/counter; ls /etc/app.conf /var/counter; "
                + "grep -rl secret /etc /var /run /tmp /root 2>/dev/null | wc -l"
            for placement in [["--isolation", "vm"], ["--platform", "linux/arm/v7"]] {
                let bound = try Self.docker(daemon, ["run", "--rm", "-v", files + "/app.conf:/etc/app.conf:ro", "-v", files + "/counter:/var/counter"]
                                                + placement + [Self.multiArchImage, "sh", "-c", script], timeout: 180)
                #expect(bound.stdout == "settings\nrefused\n/etc/app.conf\n/var/counter\n0\n", "\(placement): \(bound)")
                #expect(try String(contentsOfFile: files + "/counter", encoding: .utf8) == "1\n")
                #expect(try String(contentsOfFile: files + "/app.conf", encoding: .utf8) == "settings\n")
                try "0\n".write(toFile: files + "/counter", atomically: false, encoding: .utf8)
            }
        }
    }

    @Test func dockerPyVolumes() async throws {
        try await Self.withImages { daemon in
            let script = """
                import docker, sys
                client = docker.DockerClient(base_url=sys.argv[1])
                volume = client.volumes.create(name="pyvol", labels={"made": "py"})
                client.containers.run(sys.argv[2], ["sh", "-c", "echo py > /v/f"], volumes={"pyvol": {"bind": "/v", "mode": "rw"}}, remove=True)
                out = client.containers.run(sys.argv[2], ["cat", "/v/f"], volumes=["pyvol:/v:ro"], remove=True)
                print(out.decode().strip(), volume.attrs["Labels"]["made"], [v.name for v in client.volumes.list()])
                volume.remove()
                print(len(client.volumes.list()))
                """
            let output = try Command.succeed(["python3", "-c", script, daemon.host, Self.image])
            #expect(output == "py py ['pyvol']\n0\n", "\(output)")
        }
    }
}

/// Bind propagation (`-v SRC:DST:rslave|rshared`): a mount made on the host under a shared source
/// reaches slave and shared binds but not private ones, and one made in a shared bind reaches the
/// host; the container's own root stays off the host either way.
extension ContainerLifecycleTests {
    @Test func bindPropagationCarriesMountsAsAsked() async throws {
        try await Self.withImages { daemon in
            let source = try TestPaths.makeScratch("propagation") + "/shared"
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            #expect(try Command.run(["mount", "--bind", source, source]).status == 0)
            // However the test ends, the host keeps none of its mounts.
            defer { _ = try? Command.run(["umount", "-R", "-l", source]) }
            #expect(try Command.run(["mount", "--make-shared", source]).status == 0)

            var ids: [String: String] = [:]
            for (name, option, extra) in [("private", "", [String]()), ("slave", ":rslave", []), ("shared", ":rshared", ["--privileged"])] {
                let run = try daemon.berth(["run", "-d", "--name", "propagation-\(name)"] + extra + ["-v", source + ":/m" + option, Self.image, "sleep", "300"])
                #expect(run.status == 0, "\(name): \(run)")
                ids[name] = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            try FileManager.default.createDirectory(atPath: source + "/from-host", withIntermediateDirectories: true)
            #expect(try Command.run(["mount", "-t", "tmpfs", "tmpfs", source + "/from-host"]).status == 0)
            try "host\n".write(toFile: source + "/from-host/file", atomically: true, encoding: .utf8)
            for (name, seen) in [("private", false), ("slave", true), ("shared", true)] {
                let look = try daemon.berth(["exec", "propagation-\(name)", "cat", "/m/from-host/file"])
                #expect((look.status == 0 && look.stdout == "host\n") == seen, "\(name): \(look)")
            }

            let made = try daemon.berth(["exec", "propagation-shared", "sh", "-c",
                                         "mkdir -p /m/from-container && mount -t tmpfs tmpfs /m/from-container && echo container > /m/from-container/file"])
            #expect(made.status == 0, "\(made)")
            #expect((try? String(contentsOfFile: source + "/from-container/file", encoding: .utf8)) == "container\n")
            // The roots are overlays on directories named after the containers: none is mounted on the host.
            let mounts = TestPaths.mountInfo()
            for name in ["slave", "shared"] {
                #expect(!mounts.contains("/\(ids[name] ?? "-")/rootfs"), "\(name)'s root reached the host")
            }
            for name in ["private", "slave", "shared"] { _ = try daemon.berth(["rm", "-f", "propagation-\(name)"]) }
        }
    }
}
