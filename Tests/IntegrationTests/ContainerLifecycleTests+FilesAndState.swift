import Foundation
import Testing

extension ContainerLifecycleTests {
    @Test func commitCopyAndInspectTheFilesystem() async throws {
        try await Self.withImages { daemon in
            let scratch = daemon.scratch + "/copies"
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "work", Self.image, "sh", "-c",
                                             "mkdir -p /data/sub && echo one > /data/a && echo two > /data/sub/b && "
                                                 + "ln -s / /escape && rm /bin/vi && sleep 300"]).status == 0)
            usleep(500_000)
            // Out of the container, whole directories, and a path through a symlink stays inside it.
            #expect(try Self.docker(daemon, ["cp", "work:/data", scratch + "/"]).status == 0)
            #expect(try String(contentsOfFile: scratch + "/data/sub/b", encoding: .utf8) == "two\n")
            #expect(try Self.docker(daemon, ["cp", "work:/escape/etc/hostname", scratch + "/hostname"]).status == 0)
            let containerHostname = try Self.docker(daemon, ["exec", "work", "hostname"]).stdout
            #expect(try String(contentsOfFile: scratch + "/hostname", encoding: .utf8) == containerHostname)
            // Into the container.
            try "from the host\n".write(toFile: scratch + "/in.txt", atomically: true, encoding: .utf8)
            #expect(try Self.docker(daemon, ["cp", scratch + "/in.txt", "work:/data/"]).status == 0)
            #expect(try Self.docker(daemon, ["exec", "work", "cat", "/data/in.txt"]).stdout == "from the host\n")
            let sizes = try Self.docker(daemon, ["ps", "-s", "--format", "{{.Size}}"]).stdout
            #expect(sizes.contains("B (virtual ") && !sizes.hasPrefix("0B"), "\(sizes)")
            let diff = try Self.docker(daemon, ["diff", "work"]).stdout
            #expect(diff.contains("A /data/a\n") && diff.contains("D /bin/vi\n"), "\(diff)")
            // Paused while committing, running after; the new image runs with the changed command and files.
            let commit = try Self.docker(daemon, ["commit", "-c", "CMD [\"cat\", \"/data/a\"]", "-c", "ENV MARK=set", "work",
                                                  "localhost/committed:1"])
            #expect(commit.status == 0 && commit.stdout.hasPrefix("sha256:"), "\(commit)")
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}}", "work"]).stdout == "running\n")
            #expect(try Self.docker(daemon, ["run", "--rm", "localhost/committed:1"]).stdout == "one\n")
            let changed = try Self.docker(daemon, ["run", "--rm", "localhost/committed:1", "sh", "-c",
                                                   "echo $MARK; cat /data/in.txt; test -e /bin/vi || echo vi-gone"])
            #expect(changed.stdout == "set\nfrom the host\nvi-gone\n", "\(changed)")
            // A stopped container's files are reachable too, and nothing stays mounted after.
            #expect(try Self.docker(daemon, ["stop", "-t", "0", "work"]).status == 0)
            #expect(try Self.docker(daemon, ["cp", "work:/data/a", scratch + "/a-stopped"]).status == 0)
            #expect(try String(contentsOfFile: scratch + "/a-stopped", encoding: .utf8) == "one\n")
            let export = try Command.run(["sh", "-c", "docker -H \(daemon.host) export work | tar -t | grep -c '^data/'"])
            #expect(Int(export.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 4, "\(export)")
            let mounts = TestPaths.mountInfo()
            #expect(!mounts.contains(daemon.root))
        }
    }

    @Test func pauseRenameTopStatsAndPrune() async throws {
        try await Self.withImages { daemon in
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "first", "-m", "32m", "--pids-limit", "50", Self.image,
                                             "sleep", "300"]).status == 0)
            #expect(try Self.docker(daemon, ["info", "--format", "{{.DefaultRuntime}} {{.LiveRestoreEnabled}} {{.SecurityOptions}}"])
                .stdout == "berth true [name=seccomp,profile=builtin]\n")
            let counted = "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}"
            #expect(try Self.docker(daemon, ["info", "--format", counted]).stdout == "1 1 0 0\n")
            #expect(try Self.docker(daemon, ["pause", "first"]).status == 0)
            #expect(try Self.docker(daemon, ["info", "--format", counted]).stdout == "1 0 1 0\n")
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "first"]).stdout == "paused true\n")
            #expect(try Self.docker(daemon, ["unpause", "first"]).status == 0)
            #expect(try Self.docker(daemon, ["rename", "first", "second"]).status == 0)
            let top = try Self.docker(daemon, ["top", "second"])
            #expect(top.stdout.contains("sleep 300"), "\(top)")
            let stats = try Self.docker(daemon, ["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "second"])
            #expect(stats.stdout.hasPrefix("second ") && stats.stdout.contains("/ 32MiB") && stats.stdout.hasSuffix(" 1\n"), "\(stats)")
            #expect(try Self.docker(daemon, ["run", "--name", "done", Self.image, "true"]).status == 0)
            let prune = try Self.docker(daemon, ["container", "prune", "-f"])
            #expect(prune.stdout.contains("Deleted Containers"), "\(prune)")
            #expect(try Self.docker(daemon, ["ps", "-a", "--format", "{{.Names}}"]).stdout == "second\n")
            #expect(try Self.docker(daemon, ["rm", "-f", "second"]).status == 0)
        }
    }
}
