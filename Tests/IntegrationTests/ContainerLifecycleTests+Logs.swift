import Foundation
import Testing

extension ContainerLifecycleTests {
    @Test func logsRotateAndFilter() async throws {
        try await Self.withImages { daemon in
            // 400 lines of ~100 bytes into files of at most 8 KiB, three kept.
            let run = try Self.docker(daemon, ["run", "--name", "chatty", "--log-opt", "max-size=8k", "--log-opt", "max-file=3",
                                               Self.image, "sh", "-c",
                                               "i=0; while [ $i -lt 400 ]; do printf 'line %03d %080d\\n' $i 0; i=$((i+1)); done"])
            #expect(run.status == 0)
            let directory = try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/containers").first ?? ""
            let logs = try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/containers/" + directory)
                .filter { $0.contains("-json.log") }
            #expect(logs.count == 3, "\(logs)")
            for log in logs {
                let size = try FileManager.default.attributesOfItem(atPath: daemon.root + "/containers/\(directory)/\(log)")[.size] as? Int ?? 0
                #expect(size <= 8 * 1024, "\(log) is \(size) bytes")
            }
            let kept = try Self.docker(daemon, ["logs", "chatty"]).stdout.split(separator: "\n")
            #expect(kept.last?.hasPrefix("line 399 ") == true && kept.count < 400 && kept.count > 100, "\(kept.count) lines")
            let tail = try Self.docker(daemon, ["logs", "--tail", "2", "chatty"]).stdout.split(separator: "\n")
            #expect(tail.map { $0.prefix(8) } == ["line 398", "line 399"])
            let stamped = try Self.docker(daemon, ["logs", "-t", "--tail", "1", "chatty"]).stdout
            #expect(stamped.hasPrefix("20") && stamped.contains("Z line 399"), "\(stamped)")
            let future = try Self.docker(daemon, ["logs", "--since", "2099-01-01T00:00:00Z", "chatty"])
            #expect(future.status == 0 && future.stdout.isEmpty, "\(future)")
        }
    }
}
