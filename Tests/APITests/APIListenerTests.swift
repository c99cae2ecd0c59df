import API
import Testing

@Suite struct APIListenerTests {
    @Test func dockerdHostForms() throws {
        let tls = APITLSSettings(certificate: "/c", key: "/k", clientCA: "/ca", verifyClients: true)
        #expect(try APIListener.parse("unix:///run/b.sock", mode: 0o660, group: 7, tls: tls).description == "unix:///run/b.sock")
        guard case .tcp(let host, let port, let settings) = try APIListener.parse("tcp://127.0.0.1", mode: 0o660, group: nil, tls: tls) else {
            Issue.record("not a TCP listener")
            return
        }
        #expect(host == "127.0.0.1" && port == 2376 && settings == tls)
        #expect(try APIListener.parse("tcp://:2375", mode: 0o660, group: nil, tls: nil).description == "tcp://0.0.0.0:2375 (no TLS)")
        #expect(try APIListener.parse("tcp://[::1]:2376", mode: 0o660, group: nil, tls: tls).description == "tcp://[::1]:2376")
    }

    @Test(arguments: ["fd://", "unix://relative.sock", "tcp://host:port", "tcp://host:0", "ssh://host", "/bare/path"])
    func otherFormsAreRefused(text: String) {
        #expect(throws: APIListenerError.self) { try APIListener.parse(text, mode: 0o660, group: nil, tls: nil) }
    }
}
