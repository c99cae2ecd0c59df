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

    @Test func aaaaQuestionsGetTheIPv6Addresses() throws {
        let aaaa = try #require(DNSQuery(Self.query("web", type: 28)))
        let answer = aaaa.answer([IPv4Address("10.1.2.3")!], ipv6: [IPv6Address("2001:db8::5")!])
        #expect(answer[7] == 1 && Array(answer.suffix(16)) == [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [5])
        #expect(Array(answer.suffix(26).prefix(4)) == [0, 28, 0, 1], "an AAAA record of class IN")
        #expect(IPv6Address("2001:db8::5")?.description == "2001:db8::5" && IPv6Address("10.0.0.1") == nil)
        let subnet = try #require(IPv6Subnet("2001:db8:1::/64"))
        #expect(subnet.contains(IPv6Address("2001:db8:1::ffff")!) && !subnet.contains(IPv6Address("2001:db8:2::1")!))
        #expect(subnet.host(2)?.description == "2001:db8:1::2" && IPv6Subnet("2001:db8::1/64") == nil)
        #expect(IPv6Subnet("fd00::/120")?.host(256) == nil, "a /120 has 255 hosts after the network's own address")
        #expect(IPv6Subnet.uniqueLocal(seed: 0xab_cdef_0123).description == "fdab:cdef:123::/64")
    }

    @Test func otherTypesGetNoRecordsAndFailuresTheirCode() throws {
        let aaaa = try #require(DNSQuery(Self.query("web", type: 28)))
        let empty = aaaa.answer([IPv4Address("10.1.2.3")!])
        #expect(empty[7] == 0 && empty[3] & 0x0f == 0, "no data, but the name exists")
        let mx = try #require(DNSQuery(Self.query("web", type: 15)))
        #expect(mx.answer([IPv4Address("10.1.2.3")!], ipv6: [IPv6Address("::1")!])[7] == 0)
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
