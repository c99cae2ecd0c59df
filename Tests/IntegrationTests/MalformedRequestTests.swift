import Foundation
import Testing

/// Bad bytes on the socket get an error or a closed connection, and berthd keeps serving.
@Suite(.serialized) struct MalformedRequestTests {
    @Test func badInputNeverTakesTheDaemonDown() async throws {
        try await DaemonFixture.with { daemon in
            let socket = daemon.socketPath
            func status(of reply: Data) -> String {
                String(String(decoding: reply.prefix(12), as: UTF8.self).dropFirst(9))
            }

            var garbage = Data((0..<4096).map { _ in UInt8.random(in: 0...255) })
            garbage.append(contentsOf: Array("\r\n\r\n".utf8))
            let garbageReply = try RawSocket.exchange(socket, garbage, timeout: 5)
            #expect(garbageReply.isEmpty || status(of: garbageReply) == "400")

            let hugeHeader = Data("GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: ".utf8)
                + Data(repeating: UInt8(ascii: "a"), count: 10 << 20) + Data("\r\n\r\n".utf8)
            let hugeReply = try RawSocket.exchange(socket, hugeHeader, timeout: 10)
            #expect(hugeReply.isEmpty || ["400", "431"].contains(status(of: hugeReply)))

            let truncated = Data("POST /v1.47/info HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":".utf8)
            _ = try RawSocket.exchange(socket, truncated, timeout: 2)

            let tooNew = try RawSocket.exchange(socket, Data("GET /v1.99/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 5)
            #expect(status(of: tooNew) == "400")
            #expect(String(decoding: tooNew, as: UTF8.self).contains(#"{"message":"client version 1.99 is too new. Maximum supported API version is 1.47"}"#))

            let tooOld = try RawSocket.exchange(socket, Data("GET /v1.12/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 5)
            #expect(status(of: tooOld) == "400")
            #expect(String(decoding: tooOld, as: UTF8.self).contains("client version 1.12 is too old"))

            let unknown = try RawSocket.exchange(socket, Data("GET /v1.47/nothing/here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 5)
            #expect(status(of: unknown) == "404")
            #expect(String(decoding: unknown, as: UTF8.self).contains(#"{"message":"page not found"}"#))

            let wrongMethod = try RawSocket.exchange(socket, Data("DELETE /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 5)
            #expect(status(of: wrongMethod) == "405")

            let badFilters = try RawSocket.exchange(socket, Data("GET /events?filters=%7Bnot-json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 5)
            #expect(status(of: badFilters) == "400")

            // Many connections opened and dropped mid-request.
            for _ in 0..<50 {
                let descriptor = try RawSocket.connect(socket)
                try RawSocket.send(descriptor, Data("GET /info HTTP/1.1\r\nHo".utf8))
                close(descriptor)
            }

            let ping = try RawSocket.exchange(socket, Data("HEAD /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 5)
            #expect(status(of: ping) == "200")
            #expect(String(decoding: ping, as: UTF8.self).contains("Api-Version: 1.47"))
            #expect(try daemon.berth(["version"]).status == 0)
        }
    }
}
