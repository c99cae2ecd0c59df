import Foundation
import Testing

/// The API on TCP as dockerd serves it: mutual TLS with `--tlsverify`, plain HTTP only when
/// `--tls=false` says so, and the unix socket root's (or a `-G` group's).
@Suite(.serialized) struct RemoteAPITests {
    /// A CA with a server certificate for 127.0.0.1 and a client certificate it signed, and a
    /// second CA's client certificate, which the server must refuse.
    struct Certificates {
        let directory: String
        var ca: String { directory + "/ca.pem" }
        var serverCertificate: String { directory + "/server-cert.pem" }
        var serverKey: String { directory + "/server-key.pem" }
        var clientCertificate: String { directory + "/client-cert.pem" }
        var clientKey: String { directory + "/client-key.pem" }
        var rogueCertificate: String { directory + "/rogue-cert.pem" }
        var rogueKey: String { directory + "/rogue-key.pem" }

        init(in directory: String) throws {
            self.directory = directory
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let script = """
                set -e
                cd "$1"
                key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
                authority() { key "$1-key.pem"; openssl req -x509 -new -key "$1-key.pem" -out "$1.pem" -days 2 -subj "/CN=$1"; }
                signed() {
                    key "$2-key.pem"
                    openssl req -new -key "$2-key.pem" -out "$2.csr" -subj "/CN=$3"
                    printf '%s\\n' "$4" > "$2.ext"
                    openssl x509 -req -in "$2.csr" -CA "$1.pem" -CAkey "$1-key.pem" -CAcreateserial -out "$2-cert.pem" \\
                        -days 2 -extfile "$2.ext" 2>/dev/null
                }
                authority ca
                authority rogue-ca
                signed ca server 127.0.0.1 'subjectAltName=IP:127.0.0.1
                extendedKeyUsage=serverAuth'
                signed ca client client 'extendedKeyUsage=clientAuth'
                signed rogue-ca rogue client 'extendedKeyUsage=clientAuth'
                """
            try Command.succeed(["sh", "-c", script, "make-certificates", directory])
        }
    }

    @Test func mutualTLSServesTheDockerCLIAndDockerPyAndRefusesOtherClients() async throws {
        let scratch = try TestPaths.makeScratch("tls")
        defer { TestPaths.removeScratch(scratch) }
        let certificates = try Certificates(in: scratch)
        let port = try RegistryFixture.freePort()
        let address = "tcp://127.0.0.1:\(port)"
        let options = ["-H", address, "--tlsverify", "--tlscacert", certificates.ca,
                       "--tlscert", certificates.serverCertificate, "--tlskey", certificates.serverKey]
        try await ContainerLifecycleTests.withImages(daemonOptions: options) { daemon in
            func docker(_ arguments: [String], certificate: String? = nil, key: String? = nil, input: Data? = nil) throws -> Command.Result {
                try Command.run(["docker", "--tlsverify", "--tlscacert", certificates.ca,
                                 "--tlscert", certificate ?? certificates.clientCertificate, "--tlskey", key ?? certificates.clientKey,
                                 "-H", address] + arguments, input: input, timeout: 60)
            }
            let version = try docker(["version", "--format", "{{.Server.Os}}"])
            #expect(version.status == 0 && version.stdout == "linux\n", "\(version)")
            let run = try docker(["run", "--rm", ContainerLifecycleTests.image, "echo", "over TLS"])
            #expect(run.status == 0 && run.stdout == "over TLS\n", "\(run)")
            // stdin through a hijacked stream, ended by the client's half-close inside TLS.
            let piped = try docker(["run", "-i", "--rm", ContainerLifecycleTests.image, "sh", "-c", "cat; echo done"],
                                   input: Data("through stdin\n".utf8))
            #expect(piped.status == 0 && piped.stdout == "through stdin\ndone\n", "\(piped)")
            // requests lets these variables override a session's CA (docker-py's ca_cert); this machine sets them.
            let python = try Command.run(["-u", "REQUESTS_CA_BUNDLE", "-u", "CURL_CA_BUNDLE", "python3", "-c", """
                import sys, docker
                tls = docker.tls.TLSConfig(client_cert=(sys.argv[2], sys.argv[3]), ca_cert=sys.argv[1], verify=True)
                client = docker.DockerClient(base_url=sys.argv[4], tls=tls)
                print(client.containers.run(sys.argv[5], ["echo", "from docker-py"], remove=True).decode(), end="")
                """, certificates.ca, certificates.clientCertificate, certificates.clientKey,
                "https://127.0.0.1:\(port)", ContainerLifecycleTests.image], timeout: 60)
            #expect(python.status == 0 && python.stdout == "from docker-py\n", "\(python)")

            let berth = try Command.run([TestPaths.berth, "--tlsverify", "--tlscacert", certificates.ca, "--tlscert",
                                         certificates.clientCertificate, "--tlskey", certificates.clientKey, "-H", address,
                                         "run", "--rm", ContainerLifecycleTests.image, "echo", "from berth"], timeout: 60)
            #expect(berth.status == 0 && berth.stdout == "from berth\n", "\(berth)")
            // As DOCKER_CERT_PATH: a directory of ca.pem, cert.pem and key.pem.
            let certificatePath = scratch + "/client"
            try FileManager.default.createDirectory(atPath: certificatePath, withIntermediateDirectories: true)
            for (source, name) in [(certificates.ca, "ca.pem"), (certificates.clientCertificate, "cert.pem"), (certificates.clientKey, "key.pem")] {
                try FileManager.default.copyItem(atPath: source, toPath: certificatePath + "/" + name)
            }
            let berthByEnvironment = try Command.run([TestPaths.berth, "-H", address, "images", "-q"],
                                                     environment: ["BERTH_TLS_VERIFY": "1", "BERTH_CERT_PATH": certificatePath])
            #expect(berthByEnvironment.status == 0 && berthByEnvironment.stdout.split(separator: "\n").count >= 3, "\(berthByEnvironment)")
            let berthWithoutCertificate = try Command.run([TestPaths.berth, "-H", address, "images", "-q"],
                                                          environment: ["BERTH_TLS_VERIFY": "1", "BERTH_CERT_PATH": scratch + "/none"])
            #expect(berthWithoutCertificate.status != 0 && berthWithoutCertificate.stdout.isEmpty, "\(berthWithoutCertificate)")

            let rogue = try docker(["version"], certificate: certificates.rogueCertificate, key: certificates.rogueKey)
            #expect(rogue.status != 0 && !rogue.stdout.contains("Server:"), "a certificate of another CA was accepted: \(rogue)")
            let anonymous = try Command.run(["curl", "-sS", "--cacert", certificates.ca, "https://127.0.0.1:\(port)/_ping"])
            #expect(anonymous.status != 0 && anonymous.stdout.isEmpty, "a client without a certificate was answered: \(anonymous)")
            let withCertificate = try Command.run(["curl", "-sS", "--cacert", certificates.ca, "--cert", certificates.clientCertificate,
                                                   "--key", certificates.clientKey, "https://127.0.0.1:\(port)/_ping"])
            #expect(withCertificate.stdout == "OK", "\(withCertificate)")
            let plain = try Command.run(["curl", "-sS", "http://127.0.0.1:\(port)/_ping"])
            #expect(plain.stdout != "OK", "plain HTTP was answered on the TLS port: \(plain)")

            // The unix socket beside it stays root's alone.
            var socketStatus = stat()
            #expect(lstat(daemon.socketPath, &socketStatus) == 0)
            #expect(socketStatus.st_mode & 0o777 == 0o660 && socketStatus.st_uid == 0 && socketStatus.st_gid == 0)
        }
    }

    @Test func plainTCPIsRefusedUnlessExplicitlyAccepted() async throws {
        let port = try RegistryFixture.freePort()
        let refused = try DaemonFixture(options: ["-H", "tcp://127.0.0.1:\(port)"])
        defer { refused.tearDown() }
        let process = try refused.launch()
        let exited = try await poll(seconds: 30) { process.isRunning ? nil : true }
        #expect(exited == true, "berthd served plain TCP without being told to")
        if exited != true { process.terminate() }
        let log = try String(contentsOfFile: refused.logPath, encoding: .utf8)
        #expect(process.terminationStatus != 0 && log.contains("refusing to serve the API on tcp://127.0.0.1:\(port) without TLS"), "\(log)")

        let group = getgrnam("daemon")!.pointee.gr_gid
        try await DaemonFixture.with(options: ["-H", "tcp://127.0.0.1:\(port)", "--tls=false", "-G", "daemon"]) { daemon in
            let log = try String(contentsOfFile: daemon.logPath, encoding: .utf8)
            #expect(log.contains("WITHOUT TLS (--tls=false)"), "no warning: \(log)")
            let version = try Command.run(["docker", "-H", "tcp://127.0.0.1:\(port)", "version", "--format", "{{.Server.Os}}"])
            #expect(version.stdout == "linux\n", "\(version)")
            var socketStatus = stat()
            #expect(lstat(daemon.socketPath, &socketStatus) == 0)
            #expect(socketStatus.st_mode & 0o777 == 0o660 && socketStatus.st_uid == 0 && socketStatus.st_gid == group,
                    "the -G group does not own the socket")
        }
    }
}
