import Networking
import Testing

@Suite struct DNSQueryTests {
    /// A query as a resolver sends it: id 0x1234, recursion desired, one question.
    static func query(_ name: String, type: UInt16 = 1) -> [UInt8] {
        var bytes: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") { bytes += [UInt8(label.utf8.count)] + Array(label.utf8) }
        return bytes + [0, UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
    }

    @Test func answersAQuestionWithItsAddresses() throws {
        let query = try #require(DNSQuery(Self.query("Web.Example")))
        #expect(query.name == "web.example" && query.type == DNSQuery.typeA && query.id == 0x1234)
        let answer = query.answer([IPv4Address("10.1.2.3")!])
        #expect(Array(answer[0..<2]) == [0x12, 0x34])
        #expect(answer[2] & 0x80 != 0 && answer[2] & 0x04 != 0, "a response, authoritative")
        #expect(answer[3] & 0x0f == 0 && answer[7] == 1, "no error, one answer")
        #expect(Array(answer.suffix(4)) == [10, 1, 2, 3])
    }

    @Test func otherTypesGetNoRecordsAndFailuresTheirCode() throws {
        let aaaa = try #require(DNSQuery(Self.query("web", type: 28)))
        let empty = aaaa.answer([IPv4Address("10.1.2.3")!])
        #expect(empty[7] == 0 && empty[3] & 0x0f == 0, "no data, but the name exists")
        let failed = try #require(DNSQuery(Self.query("web"))).answer([], code: 2)
        #expect(failed[3] & 0x0f == 2 && failed[7] == 0)
    }

    @Test func malformedQueriesAreIgnored() {
        #expect(DNSQuery([0x12, 0x34]) == nil)
        var response = Self.query("web")
        response[2] |= 0x80
        #expect(DNSQuery(response) == nil, "a response is not a query")
        #expect(DNSQuery(Array(Self.query("web").dropLast(2))) == nil, "truncated question")
        var pointer = Self.query("web")
        pointer[12] = 0xc0
        #expect(DNSQuery(pointer) == nil, "a compression pointer in a question")
    }
}
