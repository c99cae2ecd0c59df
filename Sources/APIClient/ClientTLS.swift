import Foundation
import NIOCore
import NIOSSL

/// The client's side of berthd's TLS, as the docker CLI's `--tls`/`--tlsverify`: with `verify`,
/// berthd's certificate must chain to `ca` and name the host dialled; `certificate` and `key`
/// answer berthd's own `--tlsverify`.
public struct ClientTLS: Sendable, Equatable {
    public var ca: String
    public var certificate: String
    public var key: String
    public var verify: Bool

    public init(ca: String, certificate: String, key: String, verify: Bool) {
        self.ca = ca
        self.certificate = certificate
        self.key = key
        self.verify = verify
    }

    /// From the environment: `BERTH_TLS`/`BERTH_TLS_VERIFY` (the CLI's `--tls`/`--tlsverify` set
    /// them, as does the user for docker's `DOCKER_TLS_VERIFY`) with `BERTH_TLS_CACERT`,
    /// `BERTH_TLS_CERT` and `BERTH_TLS_KEY` (`--tlscacert`, `--tlscert`, `--tlskey`). Files left
    /// unnamed are ca.pem, cert.pem and key.pem in `BERTH_CERT_PATH` (docker's `DOCKER_CERT_PATH`),
    /// else `~/.berth`. Nil: plain HTTP.
    public static func resolve(environment: [String: String]) -> ClientTLS? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let verify = value("BERTH_TLS_VERIFY") != nil
        guard verify || value("BERTH_TLS") != nil else { return nil }
        let directory = value("BERTH_CERT_PATH") ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.berth"
        return ClientTLS(ca: value("BERTH_TLS_CACERT") ?? directory + "/ca.pem",
                         certificate: value("BERTH_TLS_CERT") ?? directory + "/cert.pem",
                         key: value("BERTH_TLS_KEY") ?? directory + "/key.pem", verify: verify)
    }

    /// The files' problems in docker's words, before any connection is tried: the CA must be
    /// readable to verify with; a client certificate and key are used when either is there.
    public func check() throws {
        let manager = FileManager.default
        if verify, !manager.isReadableFile(atPath: ca) {
            throw ClientError.tls("could not read CA certificate \"\(ca)\": no such file or not readable")
        }
        if manager.fileExists(atPath: certificate) || manager.fileExists(atPath: key) {
            for path in [certificate, key] where !manager.isReadableFile(atPath: path) {
                throw ClientError.tls("could not load X509 key pair: \"\(path)\": no such file or not readable")
            }
        }
    }

    /// The TLS handler for a connection to `host`; a name (not an address) also goes out as SNI.
    func handler(host: String) throws -> NIOSSLClientHandler {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if verify {
            configuration.trustRoots = .file(ca)
        } else {
            configuration.certificateVerification = .none
        }
        if FileManager.default.fileExists(atPath: certificate) || FileManager.default.fileExists(atPath: key) {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        let isAddress = host.contains(":") || host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        return try NIOSSLClientHandler(context: try NIOSSLContext(configuration: configuration),
                                       serverHostname: isAddress ? nil : host)
    }
}
