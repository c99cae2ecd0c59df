import Foundation
import Testing

/// The real docker CLI and docker-py, unchanged, against berthd.
@Suite(.serialized) struct DockerClientTests {
    @Test func dockerCLIVersionNegotiatesAndReportsBerth() async throws {
        try await DaemonFixture.with { daemon in
            let output = try Command.succeed(["docker", "-H", daemon.host, "version"])
            #expect(output.contains("Server: Berth"))
            #expect(output.contains("API version:      1.47 (minimum version 1.24)"))
            let negotiated = try Command.succeed(["docker", "-H", daemon.host, "version", "--format", "{{.Client.APIVersion}} {{.Server.Version}}"])
            #expect(negotiated.trimmingCharacters(in: .whitespacesAndNewlines) == "1.47 0.1.0")
        }
    }

    @Test func dockerCLIInfoShowsRealHostNumbers() async throws {
        try await DaemonFixture.with { daemon in
            let text = try Command.succeed(["docker", "-H", daemon.host, "info"])
            #expect(text.contains("Storage Driver: overlay2"))
            #expect(text.contains("Docker Root Dir: \(daemon.root)"))
            #expect(!text.contains("ERROR"), "docker info reported errors: \(text)")

            let json = try Command.succeed(["docker", "-H", daemon.host, "info", "--format", "{{json .}}"])
            let info = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            #expect(info["NCPU"] as? Int == ProcessInfo.processInfo.activeProcessorCount)
            #expect((info["MemTotal"] as? Int).map(Int64.init) == Int64(ProcessInfo.processInfo.physicalMemory))
            #expect(info["KernelVersion"] as? String == (try Command.succeed(["uname", "-r"])).trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(info["Containers"] as? Int == 0)
            #expect(info["Images"] as? Int == 0)
            #expect(info["OSType"] as? String == "linux")
        }
    }

    @Test func dockerPyVersionInfoAndEvents() async throws {
        try await DaemonFixture.with { daemon in
            let script = """
                import docker, json, sys, time
                client = docker.DockerClient(base_url=sys.argv[1])
                version = client.version()
                info = client.info()
                start = time.time()
                client.api.ping()
                print(json.dumps({
                    "api": version["ApiVersion"], "platform": version["Platform"]["Name"],
                    "driver": info["Driver"], "root": info["DockerRootDir"], "ncpu": info["NCPU"],
                    "platforms": [p["platform"]["architecture"] for p in info["Berth"]["Host"]["platforms"]],
                }))
                """
            let output = try Command.succeed(["python3", "-c", script, daemon.host])
            let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
            #expect(result["api"] as? String == "1.47")
            #expect(result["platform"] as? String == "Berth")
            #expect(result["driver"] as? String == "overlay2")
            #expect(result["root"] as? String == daemon.root)
            #expect((result["platforms"] as? [String] ?? []).contains("arm64"))
        }
    }

    /// The reload event goes out at once, whatever the host probe that follows it costs.
    @Test func dockerEventsSeesDaemonReload() async throws {
        try await DaemonFixture.with { daemon in
            let started = Date().timeIntervalSince1970
            daemon.signal(SIGHUP)
            let output = try await poll(seconds: 30) { () -> String? in
                let until = String(format: "%.3f", Date().timeIntervalSince1970)
                let seen = try Command.succeed([
                    "docker", "-H", daemon.host, "events", "--since", String(format: "%.3f", started - 1), "--until", until,
                    "--filter", "type=daemon", "--format", "{{.Type}} {{.Action}}",
                ], timeout: 30).trimmingCharacters(in: .whitespacesAndNewlines)
                return seen.isEmpty ? nil : seen
            }
            #expect(output == "daemon reload", Comment(rawValue: daemon.log))
            try await waitForLog(daemon, containing: "re-probed", timeout: 120)
        }
    }
}

func waitForLog(_ daemon: DaemonFixture, containing text: String, timeout: TimeInterval = 30) async throws {
    if try await poll(seconds: timeout, every: .milliseconds(50), { daemon.log.contains(text) ? true : nil }) != nil { return }
    throw TestFailure("berthd log never showed \"\(text)\":\n\(daemon.log)")
}
