import Networking
import Testing

@Suite struct AddressTests {
    @Test(arguments: ["10.0.0.1", "255.255.255.255", "0.0.0.0"])
    func dottedQuadsRoundTrip(text: String) {
        #expect(IPv4Address(text)?.description == text)
    }

    @Test(arguments: ["", "10.0.0", "10.0.0.256", "10.0.0.1.2", "a.b.c.d", "10..0.1", " 10.0.0.1", "010.0.0.1x"])
    func malformedAddressesAreRefused(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test func subnetsKnowTheirHostsAndOverlaps() throws {
        let subnet = try #require(IPv4Subnet("172.18.0.0/16"))
        #expect(subnet.host(1)?.description == "172.18.0.1")
        #expect(subnet.host(65534)?.description == "172.18.255.254")
        #expect(subnet.host(65535) == nil, "the broadcast address is no host")
        #expect(subnet.host(0) == nil)
        #expect(subnet.broadcast.description == "172.18.255.255")
        #expect(subnet.contains(IPv4Address("172.18.3.4")!) && !subnet.contains(IPv4Address("172.19.0.1")!))
        #expect(subnet.overlaps(IPv4Subnet("172.18.7.0/24")!) && IPv4Subnet("172.18.7.0/24")!.overlaps(subnet))
        #expect(!subnet.overlaps(IPv4Subnet("172.19.0.0/16")!))
        #expect(IPv4Subnet("172.18.0.1/16") == nil, "host bits set")
        #expect(IPv4Subnet("172.18.0.0/33") == nil)
        #expect(IPv4Subnet(IPv4Address("10.1.2.3")!, prefixLength: 8).description == "10.0.0.0/8")
    }
}
