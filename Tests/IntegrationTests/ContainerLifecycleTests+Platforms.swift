import Foundation
import Testing

extension ContainerLifecycleTests {
    /// The multi-arch tag of the test images: linux/amd64, linux/arm64 and linux/arm/v7.
    static let multiArchImage = "berth-test/busybox:latest"

    /// Builds (or finds cached) the arm64 and arm/v7 guest kernels and agents a daemon will find in
    /// the default cache.
    static func armGuests() throws {
        for architecture in ["arm64", "arm"] {
            try Command.succeed([TestPaths.repository + "/guest-kernel/build", architecture], timeout: 1800)
            try Command.succeed([TestPaths.repository + "/vm-images/build", architecture], timeout: 600)
        }
    }

    @Test func foreignPlatformsRunInTheirOwnVMOrThroughQemuUser() async throws {
        try Self.armGuests()
        var host = utsname()
        uname(&host)
        let hostRelease = withUnsafeBytes(of: host.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        try await Self.withImages { daemon in
            let machine = try Self.docker(daemon, ["run", "--rm", "--platform", "linux/arm64", Self.multiArchImage, "uname", "-m"],
                                          timeout: 120)
            #expect(machine.status == 0 && machine.stdout == "aarch64\n", "\(machine)")
            let armv7 = try Self.docker(daemon, ["run", "--rm", "--platform", "linux/arm/v7", Self.multiArchImage, "uname", "-m"],
                                        timeout: 120)
            #expect(armv7.status == 0 && armv7.stdout == "armv7l\n", "\(armv7)")

            // One tag, two platforms, running at once: natively and in an arm64 VM.
            #expect(try Self.docker(daemon, ["run", "-d", "--platform", "linux/arm64", "--name", "arm", Self.multiArchImage,
                                             "sleep", "300"], timeout: 120).status == 0)
            #expect(try Self.docker(daemon, ["run", "-d", "--name", "native", Self.multiArchImage, "sleep", "300"]).status == 0)
            let modes = try Self.docker(daemon, ["inspect", "-f", "{{.Name}} {{.Berth.Platform}} {{.Berth.Mode}}", "arm", "native"]).stdout
            #expect(modes == "/arm linux/arm64 system-vm\n/native linux/amd64 native\n", "\(modes)")
            let reason = try Self.docker(daemon, ["inspect", "-f", "{{.Berth.Reason}}", "arm"]).stdout
            #expect(reason.contains("not this host's architecture"), "\(reason)")
            #expect(try Self.docker(daemon, ["exec", "arm", "uname", "-m"]).stdout == "aarch64\n")
            #expect(try Self.docker(daemon, ["exec", "native", "uname", "-m"]).stdout == "x86_64\n")
            #expect(try Self.docker(daemon, ["rm", "-f", "arm", "native"], timeout: 60).status == 0)

            // The arm64 image alone, without --platform: run as what it is, with a notice.
            let single = try daemon.berth(["run", "--rm", "berth-test/busybox:arm64", "uname", "-m"], timeout: 120)
            #expect(single.status == 0 && single.stdout == "aarch64\n" && single.stderr.contains("does not match the host's"), "\(single)")

            // User-mode emulation: the same answer from uname -m, on the host's kernel.
            let user = try daemon.berth(["run", "--rm", "--platform", "linux/arm64", "--emulation", "user", Self.multiArchImage,
                                         "sh", "-c", "uname -m; uname -r"])
            #expect(user.status == 0 && user.stdout == "aarch64\n\(hostRelease)\n", "\(user)")
            let userModes = try Self.docker(daemon, ["run", "--rm", "--platform", "linux/arm64", "--annotation", "berth.emulation=user",
                                                     Self.multiArchImage, "uname", "-m"])
            #expect(userModes.stdout == "aarch64\n", "the docker CLI asks for it with an annotation: \(userModes)")
            let userArmv7 = try daemon.berth(["run", "--rm", "--platform", "linux/arm/v7", "--emulation", "user", Self.multiArchImage,
                                              "uname", "-m"])
            #expect(userArmv7.stdout == "armv7l\n", "\(userArmv7)")

            // Platforms this host cannot run fail at once, naming what would be needed, and make nothing.
            let windows = try Self.docker(daemon, ["run", "--rm", "--platform", "windows/amd64", Self.multiArchImage, "cmd"])
            #expect(windows.status == 125 && windows.stderr.contains("windows/amd64 images need a windows kernel"), "\(windows)")
            let s390x = try Self.docker(daemon, ["run", "--rm", "--platform", "linux/s390x", Self.multiArchImage, "true"])
            #expect(s390x.status == 125 && s390x.stderr.contains("s390x") && s390x.stderr.contains("qemu-system"), "\(s390x)")
            let kvm = try daemon.berth(["run", "--rm", "--platform", "linux/arm64", "--vm-accel", "kvm", Self.multiArchImage, "true"])
            #expect(kvm.status == 125 && kvm.stderr.contains("KVM runs only this host's own architecture"), "\(kvm)")
            #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty)
        }
    }

    /// With no minimal kernel in its cache, a daemon boots Debian's stock kernels (with the virtio
    /// and overlay modules vm-images/build adds) for every architecture.
    @Test func foreignVMsFallBackToDebianStockKernels() async throws {
        try Self.armGuests()
        let scratch = try TestPaths.makeScratch("stock-kernels")
        defer { TestPaths.removeScratch(scratch) }
        let cache = try Self.scratchCache(in: scratch)
        try FileManager.default.createSymbolicLink(atPath: cache + "/vm-images", withDestinationPath: "/var/cache/berth/vm-images")
        // QEMU (libvirt-qemu) reads the layer disks made under here.
        try Command.succeed(["chmod", "-R", "a+rX", scratch])
        try await Self.withImages(daemonOptions: ["--cache-dir", cache]) { daemon in
            for (platform, release) in [("linux/arm64", "-cloud-arm64"), ("linux/arm/v7", "-armmp-lpae")] {
                let run = try Self.docker(daemon, ["run", "--rm", "--platform", platform, Self.multiArchImage, "uname", "-r"], timeout: 120)
                #expect(run.status == 0 && run.stdout.hasSuffix(release + "\n"), "\(platform): \(run)")
            }
        }
    }
}
