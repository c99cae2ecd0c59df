import Foundation
import Testing

/// A real glibc distribution, not only busybox: Debian bookworm made by debootstrap (one large
/// layer with hardlinks, setuid programs, device nodes, users in /etc/passwd, python3, apt and
/// dpkg), run natively, in an x86_64 utility VM and in an arm64 one.
@Suite(.serialized) struct DebianImageTests {
    /// Everything one run reports, one fact per line.
    static let facts = """
        dpkg --print-architecture
        stat -c %a /usr/bin/passwd
        stat -c %h /usr/bin/perl
        python3 -c 'import locale, platform, pwd; print(platform.machine(), locale.getpreferredencoding(), pwd.getpwnam("nobody").pw_uid)'
        apt-get --version | head -1 | cut -d' ' -f1
        getent group shadow | cut -d: -f1
        """

    static func expected(architecture: String, machine: String) -> String {
        "\(architecture)\n4755\n2\n\(machine) UTF-8 65534\napt\nshadow\n"
    }

    /// The Debian layout loaded into a daemon of the host's own network (VMs join its bridge).
    static func withDebian<T>(_ body: (DaemonFixture) async throws -> T) async throws -> T {
        let built = try TestImageTests.build(into: nil)
        guard let debian = built.debian else { throw TestFailure("the Debian test images are missing: run `make images`") }
        return try await DaemonFixture.with { daemon in
            let archive = daemon.scratch + "/debian.tar"
            try Command.succeed(["tar", "-cf", archive, "-C", debian.layout, "."])
            let load = try daemon.berth(["load", "-i", archive], timeout: 300)
            #expect(load.status == 0, "\(load)")
            return try await body(daemon)
        }
    }

    /// Pulled from a mirror as `debian:bookworm` (a 65 MB layer), run by the docker CLI.
    @Test func debianRunsNativelyPulledThroughTheMirror() async throws {
        try await DockerHubMirror.with(debian: true) { mirror in
            try await mirror.daemon(options: ["--registry-mirror", mirror.url]) { daemon in
                let docker = ["docker", "-H", daemon.host]
                let run = try Command.run(docker + ["run", "--rm", "debian:bookworm", "sh", "-c", Self.facts], timeout: 300)
                #expect(run.status == 0 && run.stdout == Self.expected(architecture: "amd64", machine: "x86_64"), "\(run)")
                let nobody = try Command.run(docker + ["run", "--rm", "-u", "nobody", "debian:bookworm", "sh", "-c", "id -un; id -u; echo ~"])
                #expect(nobody.stdout == "nobody\n65534\n/nonexistent\n", "\(nobody)")
                // A setuid program keeps its bit, and no-new-privileges is not set by default.
                let setuid = try Command.run(docker + ["run", "--rm", "-u", "nobody", "debian:bookworm", "sh", "-c",
                                                       "ls -l /usr/bin/passwd | cut -c1-10; grep NoNewPrivs /proc/self/status | tr -d '\\t'"])
                #expect(setuid.stdout == "-rwsr-xr-x\nNoNewPrivs:0\n", "\(setuid)")
                let dpkg = try Command.run(docker + ["run", "--rm", "debian:bookworm", "sh", "-c",
                                                     "dpkg -s python3 | grep -c '^Status: install ok installed'; dpkg -L passwd | grep -c ."])
                #expect(dpkg.status == 0 && dpkg.stdout.hasPrefix("1\n"), "\(dpkg)")
            }
        }
    }

    @Test func debianRunsInX86AndArm64UtilityVMs() async throws {
        _ = try ContainerLifecycleTests.guestKernel()
        try ContainerLifecycleTests.armGuests()
        try await Self.withDebian { daemon in
            let x86 = try daemon.berth(["run", "--rm", "--isolation", "vm", "berth-test/debian:amd64", "sh", "-c", Self.facts], timeout: 300)
            #expect(x86.status == 0 && x86.stdout == Self.expected(architecture: "amd64", machine: "x86_64"), "\(x86)")
            let arm64 = try daemon.berth(["run", "--rm", "--platform", "linux/arm64", "berth-test/debian:latest", "sh", "-c", Self.facts],
                                         timeout: 600)
            #expect(arm64.status == 0 && arm64.stdout == Self.expected(architecture: "arm64", machine: "aarch64"), "\(arm64)")
            let nobody = try daemon.berth(["run", "--rm", "--platform", "linux/arm64", "-u", "nobody", "berth-test/debian:latest", "id", "-un"],
                                          timeout: 300)
            #expect(nobody.stdout == "nobody\n", "\(nobody)")
            let mode = try daemon.berth(["image", "inspect", "-f", "{{.Architecture}}", "berth-test/debian:arm64"])
            #expect(mode.stdout == "arm64\n", "\(mode)")
        }
    }
}
