import Foundation
import Testing

/// The same image and settings under Berth and under `runc run` (a bundle this test writes, with
/// Docker's defaults) must look the same from inside and in their cgroups.
@Suite(.serialized) struct RuncDifferentialTests {
    static let probe = "echo hostname=$(hostname); id; grep -E '^(CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status; "
        + "echo pid=$$; set -- /proc/[0-9]*; echo processes=$#; cut -d' ' -f2,3 /proc/mounts; "
        + "cat /proc/keys /proc/timer_list | wc -c; touch /proc/sys/kernel/x 2>&1 | grep -c Read-only; echo end; sleep 4"

    /// Patches umoci's bundle config into what Docker would ask runc for.
    static let patchBundle = #"""
        import json, sys
        bundle, probe, cgroup = sys.argv[1], sys.argv[2], sys.argv[3]
        config = json.load(open(bundle + "/config.json"))
        caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
                "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
        process = config["process"]
        process.update(terminal=False, args=["sh", "-c", probe], noNewPrivileges=False, rlimits=[],
                       capabilities={"bounding": caps, "effective": caps, "permitted": caps})
        config["hostname"] = "differential"
        hardened = ["nosuid", "noexec", "nodev"]
        binds = [{"destination": "/etc/" + name, "type": "bind", "source": bundle + "/" + name, "options": ["rbind", "rprivate"]}
                 for name in ["resolv.conf", "hostname", "hosts"]]
        config["mounts"] = [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": hardened},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": hardened + ["ro"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": hardened},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": hardened + ["mode=1777", "size=67108864"]},
        ] + binds
        linux = config["linux"]
        linux["maskedPaths"] = ["/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                                "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"]
        linux["readonlyPaths"] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        linux["rootfsPropagation"] = "rprivate"
        linux["resources"] = {"memory": {"limit": 67108864, "swap": 134217728}, "pids": {"limit": 50}}
        linux["cgroupsPath"] = cgroup
        linux["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "syscalls": [
            {"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"}], "architectures": ["SCMP_ARCH_X86_64"]}
        # Everything the probe needs, allowed: the mode is what is compared, the policy is tested elsewhere.
        linux["seccomp"]["defaultAction"] = "SCMP_ACT_ALLOW"
        json.dump(config, open(bundle + "/config.json", "w"))
        """#

    @Test func berthAndRuncAgree() async throws {
        let built = try TestImageTests.build(into: nil)
        try await ContainerLifecycleTests.withImages { daemon in
            let bundle = daemon.scratch + "/bundle"
            try Command.succeed(["umoci", "unpack", "--image", built.layout + ":amd64", bundle])
            try "nameserver 127.0.0.1\n".write(toFile: bundle + "/resolv.conf", atomically: true, encoding: .utf8)
            try "differential\n".write(toFile: bundle + "/hostname", atomically: true, encoding: .utf8)
            try "127.0.0.1\tlocalhost\n".write(toFile: bundle + "/hosts", atomically: true, encoding: .utf8)
            let name = "berth-differential-\(UUID().uuidString.prefix(8).lowercased())"
            try Command.succeed(["python3", "-c", Self.patchBundle, bundle, Self.probe, "/" + name])
            let runcOutput = daemon.scratch + "/runc.out"
            defer {
                _ = try? Command.run(["runc", "delete", "--force", name])
                rmdir("/sys/fs/cgroup/memory/\(name)")
            }
            try Command.succeed(["sh", "-c", "runc run --detach --bundle \(bundle) \(name) > \(runcOutput) 2>&1"])
            let berth = try ContainerLifecycleTests.docker(daemon, [
                "run", "-d", "--hostname", "differential", "-m", "64m", "--pids-limit", "50", ContainerLifecycleTests.image,
                "sh", "-c", Self.probe,
            ])
            let id = berth.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.count == 64, "\(berth)")
            usleep(1_500_000)

            // Limits, read from the host side of each cgroup.
            for (file, value) in [("memory/%@/memory.limit_in_bytes", "67108864"), ("pids/%@/pids.max", "50")] {
                let berthValue = try String(contentsOfFile: "/sys/fs/cgroup/" + file.replacingOccurrences(of: "%@", with: "berth/\(id)"),
                                            encoding: .utf8)
                let runcValue = try String(contentsOfFile: "/sys/fs/cgroup/" + file.replacingOccurrences(of: "%@", with: name),
                                           encoding: .utf8)
                #expect(berthValue == runcValue && berthValue == value + "\n", "\(file): berth \(berthValue), runc \(runcValue)")
            }

            // Expected differences: runc's root is the bundle's directory, Berth's an overlay; and
            // Berth mounts the container's cgroups at /sys/fs/cgroup as Docker does, which this
            // bundle does not ask runc for.
            func normalized(_ text: String) -> String {
                text.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.hasPrefix("/sys/fs/cgroup") }
                    .map { $0.hasPrefix("/ ") ? "/ ROOT" : String($0) }.joined(separator: "\n")
            }
            let fromRunc = normalized(try String(contentsOfFile: runcOutput, encoding: .utf8))
            let fromBerth = normalized(try ContainerLifecycleTests.docker(daemon, ["logs", id]).stdout)
            #expect(fromRunc.hasSuffix("end\n") && fromBerth.hasSuffix("end\n"), "runc:\n\(fromRunc)\nberth:\n\(fromBerth)")
            #expect(fromBerth == fromRunc, "runc:\n\(fromRunc)\nberth:\n\(fromBerth)")
            #expect(fromBerth.contains("CapBnd:\t00000000a80425fb") && fromBerth.contains("Seccomp:\t2") && fromBerth.contains("pid=1\n"))
            _ = try ContainerLifecycleTests.docker(daemon, ["rm", "-f", id])
        }
    }
}
