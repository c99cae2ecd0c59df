import Foundation
import NIOSSL

/// Where berthd serves its API, as dockerd's `-H` names it.
public enum APIListener: Sendable, CustomStringConvertible {
    /// A unix socket with `mode`, owned by root and `group` (root's own group when nil).
    case unix(path: String, mode: mode_t, group: gid_t?)
    /// A TCP address; `tls` nil is plain HTTP, served only when the operator said so.
    case tcp(host: String, port: Int, tls: APITLSSettings?)

    public var description: String {
        switch self {
        case .unix(let path, _, _): return "unix://" + path
        case .tcp(let host, let port, let tls): return "tcp://\(host.contains(":") ? "[\(host)]" : host):\(port)\(tls == nil ? " (no TLS)" : "")"
        }
    }

    /// Parses a `-H` value: `unix:///path`, `tcp://host:port` (port 2376 when left out, as
    /// dockerd with TLS) or `fd://`, which berthd does not serve.
    public static func parse(_ text: String, mode: mode_t, group: gid_t?, tls: APITLSSettings?) throws -> APIListener {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw APIListenerError.invalid(text, "a unix socket needs an absolute path") }
            return .unix(path: path, mode: mode, group: group)
        }
        guard text.hasPrefix("tcp://") else {
            throw APIListenerError.invalid(text, "use unix:///path/to/berth.sock or tcp://address:port")
        }
        let authority = String(text.dropFirst("tcp://".count)).split(separator: "/", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        var host = authority
        var port = 2376
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = Int(rest.dropFirst()) else { throw APIListenerError.invalid(text, "the port is not a number") }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]) else {
                throw APIListenerError.invalid(text, "the port is not a number")
            }
            port = value
        }
        guard (1...65535).contains(port) else { throw APIListenerError.invalid(text, "the port must be 1 to 65535") }
        return .tcp(host: host.isEmpty ? "0.0.0.0" : host, port: port, tls: tls)
    }
}

/// dockerd's `--tls`/`--tlsverify` files: the server's certificate and key, and with
/// `verifyClients` the CA whose certificates clients must present.
public struct APITLSSettings: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public var clientCA: String?
    public var verifyClients: Bool

    public init(certificate: String, key: String, clientCA: String?, verifyClients: Bool) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
        self.verifyClients = verifyClients
    }

    /// TLS 1.2 or later; with `verifyClients` a client without a certificate the CA signed is
    /// refused during the handshake, before any request is read.
    func makeContext() throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw APIListenerError.tls("reading the certificate \(certificate): \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: self.key, format: .pem)
        } catch {
            throw APIListenerError.tls("reading the key \(self.key): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if verifyClients {
            guard let clientCA else { throw APIListenerError.tls("--tlsverify needs --tlscacert") }
            guard FileManager.default.isReadableFile(atPath: clientCA) else { throw APIListenerError.tls("reading the CA \(clientCA): not readable") }
            configuration.trustRoots = .file(clientCA)
            configuration.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw APIListenerError.tls("the certificate \(certificate) and key \(self.key) do not make a TLS server: \(error)")
        }
    }
}

public enum APIListenerError: Error, CustomStringConvertible {
    case invalid(String, String)
    case tls(String)

    public var description: String {
        switch self {
        case .invalid(let text, let why): return "invalid -H \(text): \(why)"
        case .tls(let message): return message
        }
    }
}
