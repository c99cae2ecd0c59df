import Foundation
import Testing

extension ContainerLifecycleTests {
    /// docker-compose 1.29 against berthd: a native web server serving a page from a named volume,
    /// and an arm64 client in a utility VM fetching it by service name once the server is up;
    /// `down -v` leaves no container, network, volume, bridge, TAP or rule behind.
    @Test func composeRunsNativeAndArm64ServicesTogether() async throws {
        try await Self.withImages { daemon in
            let project = daemon.scratch + "/project"
            try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
            try """
                version: "2.4"
                services:
                  web:
                    image: \(Self.image)
                    command: sh -c 'echo "$$GREETING from web" > /www/index.html && exec httpd -f -p 80 -h /www'
                    environment:
                      GREETING: hello
                    volumes:
                      - site:/www
                    ports:
                      - "127.0.0.1::80"
                    networks: [front]
                  client:
                    image: berth-test/busybox:arm64
                    platform: linux/arm64
                    depends_on: [web]
                    command: sh -c 'uname -m; for i in $$(seq 30); do wget -q -O- http://web/ && exit 0; sleep 1; done; exit 1'
                    networks: [front]
                networks:
                  front: {}
                volumes:
                  site: {}

                """.write(toFile: project + "/docker-compose.yml", atomically: true, encoding: .utf8)
            func compose(_ arguments: [String], timeout: TimeInterval = 180) throws -> Command.Result {
                try Command.run(["docker-compose", "-p", "mixed", "-f", project + "/docker-compose.yml"] + arguments,
                                environment: ["DOCKER_HOST": daemon.host], timeout: timeout)
            }
            let up = try compose(["up", "-d"])
            #expect(up.status == 0, "\(up)")
            let client = try Self.docker(daemon, ["wait", "mixed_client_1"], timeout: 180)
            #expect(client.stdout == "0\n", "\(client)")
            let logs = try compose(["logs", "--no-color", "client"])
            #expect(logs.stdout.contains("aarch64") && logs.stdout.contains("hello from web"), "\(logs)")
            let port = try compose(["port", "web", "80"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try Self.fetchFromHost("http://\(port)/").stdout == "hello from web\n", "port \(port)")
            let network = try Self.docker(daemon, ["network", "inspect", "-f", "{{.Id}} {{(index .IPAM.Config 0).Subnet}}", "mixed_front"])
            let fields = network.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            #expect(fields.count == 2, "\(network)")
            let clientID = try Self.docker(daemon, ["inspect", "-f", "{{.Id}}", "mixed_client_1"]).stdout

            let down = try compose(["down", "-v"])
            #expect(down.status == 0, "\(down)")
            #expect(try Self.docker(daemon, ["ps", "-aq"]).stdout.isEmpty)
            #expect(try Self.docker(daemon, ["volume", "ls", "-q"]).stdout.isEmpty)
            #expect(try Self.docker(daemon, ["network", "ls", "--format", "{{.Name}}"]).stdout == "bridge\nhost\nnone\n")
            guard fields.count == 2 else { return }
            let bridge = "berth-" + fields[0].prefix(9), tap = "vb" + clientID.prefix(9)
            let links = try Self.linksOnceGone(tap)
            #expect(!links.contains(bridge) && !links.contains(tap), "\(links)")
            // Another test's daemon may hold the same subnet by now: a port rule of ours names our host port.
            let subnetPrefix = DaemonFixture.subnetPrefix(fields[1]), hostPort = port.split(separator: ":").last.map(String.init) ?? port
            let rules = try Command.run(["iptables-save"]).stdout.split(separator: "\n")
                .filter { $0.contains(bridge) || ($0.contains(subnetPrefix) && $0.contains("--dport \(hostPort) ")) }
            #expect(rules.isEmpty, "\(rules)")
        }
    }
}
