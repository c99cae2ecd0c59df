@testable import API
import APIModels
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@Suite struct RouterTests {
    func router() -> Router {
        var router = Router()
        router.add(.GET, "/containers/{id}/json") { request in
            .text("\(request.parameters["id"] ?? "") \(request.apiVersion) \(request.queryValue("size") ?? "-")")
        }
        router.add(.POST, "/fail") { _ in throw APIError.badRequest("nope") }
        return router
    }

    func body(_ response: HTTPResponse) -> String {
        guard case .bytes(let buffer) = response.body else { return "<stream>" }
        return String(buffer: buffer)
    }

    @Test func versionPrefixIsOptionalAndBound() async {
        let withVersion = await router().respond(method: .GET, uri: "/v1.30/containers/abc/json?size=1", headers: [:], body: ByteBuffer())
        #expect(body(withVersion) == "abc 1.30 1")
        let without = await router().respond(method: .GET, uri: "/containers/abc/json", headers: [:], body: ByteBuffer())
        #expect(body(without) == "abc \(APIVersion.current) -")
    }

    @Test func versionsOutOfRangeAre400() async {
        let tooNew = await router().respond(method: .GET, uri: "/v2.0/containers/a/json", headers: [:], body: ByteBuffer())
        #expect(tooNew.status == .badRequest)
        #expect(body(tooNew).contains("client version 2.0 is too new. Maximum supported API version is \(APIVersion.current)"))
        let tooOld = await router().respond(method: .GET, uri: "/v1.9/containers/a/json", headers: [:], body: ByteBuffer())
        #expect(tooOld.status == .badRequest)
        let malformed = await router().respond(method: .GET, uri: "/v1.2.3/containers/a/json", headers: [:], body: ByteBuffer())
        #expect(malformed.status == .badRequest)
    }

    @Test func unknownPathsMethodsAndThrownErrors() async {
        #expect(await router().respond(method: .GET, uri: "/nope", headers: [:], body: ByteBuffer()).status == .notFound)
        #expect(await router().respond(method: .GET, uri: "/vabc/containers/a/json", headers: [:], body: ByteBuffer()).status == .notFound)
        #expect(await router().respond(method: .DELETE, uri: "/containers/a/json", headers: [:], body: ByteBuffer()).status == .methodNotAllowed)
        let failed = await router().respond(method: .POST, uri: "/fail", headers: [:], body: ByteBuffer())
        #expect(failed.status == .badRequest)
        #expect(body(failed) == "{\"message\":\"nope\"}\n")
        #expect(await router().respond(method: .HEAD, uri: "/containers/a/json", headers: [:], body: ByteBuffer()).status == .ok)
    }

    @Test func queryDecoding() {
        let (path, query) = HTTPRequest.split(uri: "/events?filters=%7B%22type%22%3A%5B%22daemon%22%5D%7D&a=1&a=2&b=x+y&bad=%zz")
        #expect(path == "/events")
        #expect(query["filters"] == [#"{"type":["daemon"]}"#])
        #expect(query["a"] == ["1", "2"])
        #expect(query["b"] == ["x y"])
        #expect(query["bad"] == [""])
    }
}

@Suite struct EventQueryTests {
    @Test func timestampsInDockerForms() throws {
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(try SystemRoutes.parseTimestamp("1700000000", now: now, name: "since") == 1_700_000_000_000_000_000)
        #expect(try SystemRoutes.parseTimestamp("1700000000.5", now: now, name: "since") == 1_700_000_000_500_000_000)
        #expect(try SystemRoutes.parseTimestamp("2023-11-14T22:13:20Z", now: now, name: "since") == 1_700_000_000_000_000_000)
        #expect(try SystemRoutes.parseTimestamp("10m", now: now, name: "since") == 999_400_000_000_000)
        #expect(try SystemRoutes.parseTimestamp("1h30m", now: now, name: "since") == 994_600_000_000_000)
        #expect(throws: APIError.self) { try SystemRoutes.parseTimestamp("yesterday", now: now, name: "since") }
    }

    @Test func filtersInCurrentAndLegacyShapes() throws {
        let current = try SystemRoutes.parseEventFilters(#"{"type":["daemon","container"]}"#)
        #expect(current.values["type"] == ["daemon", "container"])
        let legacy = try SystemRoutes.parseEventFilters(#"{"type":{"daemon":true,"image":false}}"#)
        #expect(legacy.values["type"] == ["daemon"])
        #expect(throws: APIError.self) { try SystemRoutes.parseEventFilters("[1,2]") }
        #expect(throws: APIError.self) { try SystemRoutes.parseEventFilters(#"{"nope":["x"]}"#) }
    }
}
