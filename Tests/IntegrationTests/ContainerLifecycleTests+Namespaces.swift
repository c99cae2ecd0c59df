import Foundation
import Testing

/// `--ipc`, `--pid` and `--uts`: containers in another container's namespaces (what a pod's
/// containers share) or in the host's.
extension ContainerLifecycleTests {
    /// The namespace a process is in, as the kernel names it: "ipc:[4026531839]".
    static func namespace(_ kind: String, ofPID pid: String) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid.trimmingCharacters(in: .whitespacesAndNewlines))/ns/\(kind)")
    }

    @Test func containersJoinAnothersIPCPIDAndUTSNamespaces() async throws {
        try await Self.withImages { daemon in
            let donor = try Self.docker(daemon, ["run", "-d", "--name", "donor", "--ipc", "shareable", "--hostname", "donor-host", Self.image,
                                                 "sh", "-c", "echo shared > /dev/shm/marker; exec sleep 300"])
            #expect(donor.status == 0, "\(donor)")
            let donorID = donor.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let donorPID = try Self.docker(daemon, ["inspect", "-f", "{{.State.Pid}}", "donor"]).stdout
            usleep(300_000)
            // docker's CLI takes only "host" for --uts; berth's also takes container:NAME, as podman's does.
            let probe = "cat /dev/shm/marker; hostname; ps -o comm | grep -qx sleep && echo sees-sleep; "
                + "for kind in ipc pid uts; do readlink /proc/self/ns/$kind; done"
            let member = try daemon.berth(["run", "--rm", "--ipc", "container:donor", "--pid", "container:donor", "--uts", "container:donor",
                                           Self.image, "sh", "-c", probe])
            #expect(member.status == 0, "\(member)")
            let expected = ["shared", "donor-host", "sees-sleep"]
                + (try ["ipc", "pid", "uts"].map { try Self.namespace($0, ofPID: donorPID) })
            #expect(member.stdout.split(separator: "\n").map(String.init) == expected, "\(member.stdout)")

            // What was asked is what inspect shows, the donor by its ID; the default IPC mode is dockerd's, private.
            let joined = try Self.docker(daemon, ["create", "--name", "joined", "--ipc", "container:donor", "--pid", "container:donor",
                                                  Self.image, "sleep", "300"])
            #expect(joined.status == 0, "\(joined)")
            let modes = try Self.docker(daemon, ["inspect", "-f", "{{.HostConfig.IpcMode}} {{.HostConfig.PidMode}}", "joined"])
            #expect(modes.stdout == "container:\(donorID) container:\(donorID)\n", "\(modes)")
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.HostConfig.IpcMode}}", "donor"]).stdout == "shareable\n")

            // A container's private IPC namespace is not for joining, as in Docker.
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "private", Self.image, "sleep", "300"]).status == 0)
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{.HostConfig.IpcMode}}", "private"]).stdout == "private\n")
            let refused = try Self.docker(daemon, ["run", "--rm", "--ipc", "container:private", Self.image, "true"])
            #expect(refused.status != 0 && refused.stderr.contains("non-shareable IPC"), "\(refused)")

            // The donor's end ends every process in its PID namespace: the joined container exits with it.
            #expect(try Self.docker(daemon, ["start", "joined"]).status == 0)
            #expect(try Self.docker(daemon, ["stop", "-t", "1", "donor"]).status == 0)
            let exited = try Self.docker(daemon, ["wait", "joined"], timeout: 20)
            #expect(exited.stdout == "137\n", "\(exited)")
            let stopped = try Self.docker(daemon, ["start", "joined"])
            #expect(stopped.status != 0 && stopped.stderr.contains("non running container"), "\(stopped)")
        }
    }

    @Test func containersShareTheHostsIPCPIDAndUTSNamespaces() async throws {
        try await Self.withImages { daemon in
            let marker = "berth-test-ipc-\(UInt32.random(in: 0...UInt32.max))"
            try Data("from the host\n".utf8).write(to: URL(fileURLWithPath: "/dev/shm/" + marker))
            defer { unlink("/dev/shm/" + marker) }
            let probe = "cat /dev/shm/\(marker); hostname; for kind in ipc pid uts; do readlink /proc/self/ns/$kind; done"
            let shared = try Self.docker(daemon, ["run", "--rm", "--ipc", "host", "--pid", "host", "--uts", "host", Self.image, "sh", "-c", probe])
            #expect(shared.status == 0, "\(shared)")
            let expected = ["from the host", ProcessInfo.processInfo.hostName]
                + (try ["ipc", "pid", "uts"].map { try Self.namespace($0, ofPID: "\(getpid())") })
            #expect(shared.stdout.split(separator: "\n").map(String.init) == expected, "\(shared.stdout)")

            // --ipc none: an IPC namespace of its own and no /dev/shm at all.
            let none = try Self.docker(daemon, ["run", "--rm", "--ipc", "none", Self.image, "sh", "-c", "grep -c ' /dev/shm ' /proc/mounts"])
            #expect(none.stdout == "0\n", "\(none)")
            let own = try Self.docker(daemon, ["run", "--rm", Self.image, "sh", "-c", "grep -c ' /dev/shm ' /proc/mounts; readlink /proc/self/ns/ipc"])
            let hostIPC = try Self.namespace("ipc", ofPID: "\(getpid())")
            #expect(own.stdout.hasPrefix("1\n") && !own.stdout.contains(hostIPC), "\(own)")

            // What cannot be had is refused before anything is made.
            let cases: [([String], String)] = [
                (["--ipc", "bogus"], "invalid IPC mode: bogus"),
                (["--pid", "bogus"], "invalid PID mode: bogus"),
                (["--uts", "host", "--hostname", "named"], "conflicting options: hostname and the UTS mode"),
                (["--userns", "auto", "--pid", "host"], "needs --userns=host"),
            ]
            for (flags, message) in cases {
                let refused = try daemon.berth(["run", "--rm"] + flags + [Self.image, "true"])
                #expect(refused.status != 0 && refused.stderr.contains(message), "\(flags): \(refused)")
            }
            #expect(try Self.docker(daemon, ["ps", "-a", "-q"]).stdout.isEmpty)
        }
    }
}

/// `--sysctl`: settings of the container's own IPC and network namespaces, set before it starts,
/// through the docker CLI as through berth's; the host's are untouched, and others are refused.
extension ContainerLifecycleTests {
    @Test func sysctlsSetTheContainersOwnNamespaces() async throws {
        try await Self.withImages { daemon in
            let hostShm = try String(contentsOfFile: "/proc/sys/kernel/shm_rmid_forced", encoding: .utf8)
            let read = "cat /proc/sys/kernel/shm_rmid_forced /proc/sys/fs/mqueue/msg_max /proc/sys/net/ipv4/ip_unprivileged_port_start"
            let set = try Self.docker(daemon, ["run", "--rm", "--sysctl", "kernel.shm_rmid_forced=1", "--sysctl", "fs.mqueue.msg_max=100",
                                               "--sysctl", "net.ipv4.ip_unprivileged_port_start=1024", Self.image, "sh", "-c", read])
            #expect(set.status == 0 && set.stdout == "1\n100\n1024\n", "\(set)")
            #expect(try String(contentsOfFile: "/proc/sys/kernel/shm_rmid_forced", encoding: .utf8) == hostShm)
            // In a utility VM the agent sets them in the container's namespaces there.
            let inVM = try Self.docker(daemon, ["run", "--rm", "--isolation=vm", "--sysctl", "kernel.shm_rmid_forced=1", "--sysctl",
                                                "fs.mqueue.msg_max=100", "--sysctl", "net.ipv4.ip_unprivileged_port_start=1024", Self.image,
                                                "sh", "-c", read], timeout: 120)
            #expect(inVM.status == 0 && inVM.stdout == "1\n100\n1024\n", "\(inVM)")
            let inspected = try Self.docker(daemon, ["create", "--name", "tuned", "--sysctl", "kernel.shm_rmid_forced=1", Self.image, "true"])
            #expect(inspected.status == 0, "\(inspected)")
            #expect(try Self.docker(daemon, ["inspect", "-f", "{{json .HostConfig.Sysctls}}", "tuned"]).stdout == "{\"kernel.shm_rmid_forced\":\"1\"}\n")

            // The host's own settings, and those of a namespace the container does not own, are refused at create.
            for (flags, words) in [(["--sysctl", "vm.swappiness=10"], "not allowed"),
                                   (["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"], "network namespace"),
                                   (["--ipc", "host", "--sysctl", "kernel.shm_rmid_forced=1"], "IPC namespace")] {
                let refused = try daemon.berth(["create"] + flags + [Self.image, "true"])
                #expect(refused.status != 0 && refused.stderr.contains(words), "\(flags): \(refused)")
            }
            let malformed = try daemon.berth(["create", "--sysctl", "novalue", Self.image, "true"])
            #expect(malformed.status != 0 && malformed.stderr.contains("NAME=VALUE"), "\(malformed)")
        }
    }
}

/// `--security-opt seccomp=PROFILE.json`: a profile in Docker's format instead of the default one,
/// read by the CLI (docker's and berth's) and compiled by berthd; a malformed one is refused at create.
extension ContainerLifecycleTests {
    @Test func seccompProfilesInDockersFormat() async throws {
        try await Self.withImages { daemon in
            let profile = try TestPaths.makeScratch("seccomp") + "/no-chmod.json"
            try #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO"}]}"#
                .write(toFile: profile, atomically: true, encoding: .utf8)
            let attempt = "touch /tmp/f && chmod 600 /tmp/f && echo changed"
            let allowed = try daemon.berth(["run", "--rm", Self.image, "sh", "-c", attempt])
            #expect(allowed.status == 0 && allowed.stdout == "changed\n", "\(allowed)")
            for client in ["berth", "docker"] {
                let arguments = ["run", "--rm", "--security-opt", "seccomp=\(profile)", Self.image, "sh", "-c", attempt]
                let blocked = client == "berth" ? try daemon.berth(arguments) : try Self.docker(daemon, arguments)
                #expect(blocked.status != 0 && blocked.stderr.contains("Operation not permitted"), "\(client): \(blocked)")
            }
            let malformed = try TestPaths.makeScratch("seccomp") + "/bad.json"
            try #"{"defaultAction": "SCMP_ACT_NOTIFY"}"#.write(toFile: malformed, atomically: true, encoding: .utf8)
            let refused = try daemon.berth(["create", "--security-opt", "seccomp=\(malformed)", Self.image, "true"])
            #expect(refused.status != 0 && refused.stderr.contains("decoding seccomp profile failed"), "\(refused)")
            #expect(try daemon.berth(["ps", "-aq"]).stdout.isEmpty)
        }
    }
}
