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

    /// `--tlsverify`/`--tls` with their files, else `BERTH_TLS_VERIFY` (any non-empty value) and
    /// `BERTH_CERT_PATH`, as docker's `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`. Files left
    /// unnamed are ca.pem, cert.pem and key.pem in the certificate directory (`~/.berth`).
    /// Nil: plain HTTP.
    public static func resolve(tls: Bool, verify: Bool, ca: String?, certificate: String?, key: String?,
                               environment: [String: String]) -> ClientTLS? {
        let verify = verify || !(environment["BERTH_TLS_VERIFY"] ?? "").isEmpty
        guard tls || verify else { return nil }
        let directory = environment["BERTH_CERT_PATH"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.berth"
        return ClientTLS(ca: ca ?? directory + "/ca.pem", certificate: certificate ?? directory + "/cert.pem",
                         key: key ?? directory + "/key.pem", verify: verify)
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
