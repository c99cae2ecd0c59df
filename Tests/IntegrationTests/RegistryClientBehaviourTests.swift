import Foundation
import Testing

/// The registry client against a front (Tests/Fixtures/registry-front) placed before a real
/// registry: bearer-token auth, and retries after 503s and transfers cut half way.
@Suite(.serialized) struct RegistryClientBehaviourTests {
    static func withFront<T>(_ options: [String], _ body: (String, String, DaemonFixture) async throws -> T) async throws -> T {
        try await ImagePullTests.withPushedImage { registry, daemon, _ in
            let port = try RegistryFixture.freePort()
            let log = daemon.scratch + "/front.log"
            FileManager.default.createFile(atPath: log, contents: nil)
            let front = Process()
            front.executableURL = URL(fileURLWithPath: TestPaths.repository + "/Tests/Fixtures/registry-front")
            front.arguments = ["\(port)", "\(registry.port)", log] + options
            try front.run()
            defer {
                // SIGKILL: a child spawned from a test thread inherits that thread's blocked signals.
                kill(front.processIdentifier, SIGKILL)
                front.waitUntilExit()
            }
            // Ready once it answers at all (a 401 or 503 is an answer).
            for _ in 0..<100 where (try? Command.run(["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/"], timeout: 2).status) != 0 {
                usleep(50_000)
            }
            return try await body("127.0.0.1:\(port)", log, daemon)
        }
    }

    @Test func serverErrorsAndCutTransfersAreRetried() async throws {
        try await Self.withFront(["--fail-first", "--cut-first"]) { front, log, daemon in
            let pull = try daemon.berth(["pull", "\(front)/berth-test/busybox:latest"], timeout: 120)
            #expect(pull.status == 0, "\(pull.stderr)")
            let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines.contains("503 GET /v2/berth-test/busybox/manifests/latest"))
            #expect(lines.contains("200 GET /v2/berth-test/busybox/manifests/latest"))
            let cut = try #require(lines.first { $0.hasPrefix("cut GET /v2/berth-test/busybox/blobs/") })
            #expect(lines.contains("200 " + cut.dropFirst("cut ".count)), "the cut blob was fetched again")
        }
    }

    @Test func bearerTokensAreFetchedWithBasicCredentials() async throws {
        try await Self.withFront(["--bearer", "berth:t0ken"]) { front, log, daemon in
            let name = "\(front)/berth-test/busybox:latest"
            let anonymous = try daemon.berth(["pull", name])
            #expect(anonymous.status == 1 && anonymous.stderr.contains("unauthorized"), "\(anonymous.stderr)")

            let config = daemon.scratch + "/docker-config"
            try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
            let auth = Data("berth:t0ken".utf8).base64EncodedString()
            try #"{"auths":{"\#(front)":{"auth":"\#(auth)"}}}"#.write(toFile: config + "/config.json", atomically: true, encoding: .utf8)
            let pull = try Command.run([TestPaths.berth, "-H", daemon.host, "pull", name], environment: ["DOCKER_CONFIG": config], timeout: 120)
            #expect(pull.status == 0, "\(pull.stderr)")
            let lines = try String(contentsOfFile: log, encoding: .utf8)
            #expect(lines.contains("token issued /token?service=berth-test&scope=repository"))
            #expect(lines.contains("200 GET /v2/berth-test/busybox/manifests/latest"))
        }
    }
}
