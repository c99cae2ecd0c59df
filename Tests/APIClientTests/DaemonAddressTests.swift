import APIClient
import Testing

@Suite struct DaemonAddressTests {
    @Test func dockerHostForms() throws {
        #expect(try DaemonAddress(parsing: "unix:///run/berth/berth.sock") == .unix(path: "/run/berth/berth.sock"))
        #expect(try DaemonAddress(parsing: "unix:/tmp/s") == .unix(path: "/tmp/s"))
        #expect(try DaemonAddress(parsing: "/tmp/s") == .unix(path: "/tmp/s"))
        #expect(try DaemonAddress(parsing: "tcp://127.0.0.1:2375") == .tcp(host: "127.0.0.1", port: 2375))
        #expect(try DaemonAddress(parsing: "tcp://[::1]:2375") == .tcp(host: "[::1]", port: 2375))
    }

    @Test(arguments: ["", "unix://", "tcp://host", "tcp://:80", "tcp://h:99999", "ssh://x", "relative.sock"])
    func malformedAddressesAreRefused(text: String) {
        #expect(throws: AddressError.malformed(text)) { try DaemonAddress(parsing: text) }
    }

    @Test func flagBeatsEnvironmentBeatsDefault() throws {
        #expect(try DaemonAddress.resolve(flag: "/a", environment: ["BERTH_HOST": "/b"]) == .unix(path: "/a"))
        #expect(try DaemonAddress.resolve(flag: nil, environment: ["BERTH_HOST": "/b"]) == .unix(path: "/b"))
        #expect(try DaemonAddress.resolve(flag: nil, environment: [:]) == .unix(path: DaemonAddress.defaultSocket))
    }
}

@Suite struct ClientTLSTests {
    @Test func flagsAndDockerStyleVariables() {
        #expect(ClientTLS.resolve(environment: ["HOME": "/h", "BERTH_TLS_CACERT": "/my/ca.pem"]) == nil)
        #expect(ClientTLS.resolve(environment: ["BERTH_TLS_VERIFY": "1", "BERTH_CERT_PATH": "/certs"])
                    == ClientTLS(ca: "/certs/ca.pem", certificate: "/certs/cert.pem", key: "/certs/key.pem", verify: true))
        #expect(ClientTLS.resolve(environment: ["HOME": "/h", "BERTH_TLS": "1", "BERTH_TLS_CACERT": "/my/ca.pem"])
                    == ClientTLS(ca: "/my/ca.pem", certificate: "/h/.berth/cert.pem", key: "/h/.berth/key.pem", verify: false))
    }

    @Test func anUnreadableCAIsNamedBeforeAnyConnection() {
        let tls = ClientTLS(ca: "/nonexistent/ca.pem", certificate: "/nonexistent/cert.pem", key: "/nonexistent/key.pem", verify: true)
        #expect(throws: ClientError.tls("could not read CA certificate \"/nonexistent/ca.pem\": no such file or not readable")) {
            try tls.check()
        }
    }
}
