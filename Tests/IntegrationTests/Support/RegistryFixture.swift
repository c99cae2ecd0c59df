import Foundation

/// A real registry (Debian's docker-registry) on a free 127.0.0.1 port with temp storage,
/// optionally behind htpasswd basic auth; stopped by pid and removed however the test ends.
final class RegistryFixture: @unchecked Sendable {
    let scratch: String
    let port: Int
    let credentials: (user: String, password: String)?
    /// The namespace the registry listens in; nil for the host's own.
    let network: IsolatedNetwork?
    private var process: Process?

    var address: String { "127.0.0.1:\(port)" }

    static func with<T>(credentials: (String, String)? = nil, network: IsolatedNetwork? = nil,
                        _ body: (RegistryFixture) async throws -> T) async throws -> T {
        let registry = try RegistryFixture(credentials: credentials, network: network)
        defer { registry.tearDown() }
        try registry.start()
        return try await body(registry)
    }

    init(credentials: (String, String)?, network: IsolatedNetwork? = nil) throws {
        scratch = try TestPaths.makeScratch("registry")
        port = try Self.freePort()
        self.credentials = credentials.map { (user: $0.0, password: $0.1) }
        self.network = network
    }

    /// `arguments` run where the registry is reachable.
    func command(_ arguments: [String]) -> [String] {
        network?.command(arguments) ?? arguments
    }

    func start() throws {
        var auth = ""
        if let credentials {
            let line = try Command.succeed(["htpasswd", "-Bbn", credentials.user, credentials.password])
            try line.write(toFile: scratch + "/htpasswd", atomically: true, encoding: .utf8)
            auth = """
                auth:
                  htpasswd:
                    realm: berth-test
                    path: \(scratch)/htpasswd

                """
        }
        let config = """
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: \(scratch)/storage
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            \(auth)
            """
        try config.write(toFile: scratch + "/config.yml", atomically: true, encoding: .utf8)
        let process = Process()
        let launch = command(["/usr/bin/docker-registry", "serve", scratch + "/config.yml"])
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = launch
        let log = FileManager.default.createFile(atPath: scratch + "/registry.log", contents: nil)
            ? try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/registry.log")) : nil
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process

        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            guard process.isRunning else { throw TestFailure("docker-registry exited: \(registryLog)") }
            let probe = try Command.run(command(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(address)/v2/"]), timeout: 5)
            if probe.stdout == "200" || probe.stdout == "401" { return }
            usleep(100_000)
        }
        throw TestFailure("docker-registry did not answer on \(address): \(registryLog)")
    }

    /// Copies an image (all platforms of an index) from an OCI layout into this registry.
    func push(layout: String, tag: String, as repository: String) throws {
        try Command.succeed(command(["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false",
                                     "oci:\(layout):\(tag)", "docker://\(address)/\(repository)"]), timeout: 300)
    }

    /// Where the registry keeps a blob's bytes (to take one away, as a broken mirror would).
    func blobPath(_ digest: String) -> String {
        let hex = digest.split(separator: ":").last.map(String.init) ?? digest
        return "\(scratch)/storage/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    var registryLog: String { (try? String(contentsOfFile: scratch + "/registry.log", encoding: .utf8)) ?? "" }

    func tearDown() {
        if let process, process.isRunning {
            // A child spawned from a test thread may inherit blocked signals: SIGKILL after a grace period.
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        TestPaths.removeScratch(scratch)
    }

    /// Asks the kernel for a free loopback port.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("could not find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
