import Networking
import Testing

/// The pure parts of bridge networking: rule text, subnet choice, the host's routes and resolvers.
@Suite struct NetworkTextTests {
    static func subnet(_ text: String) -> IPv4Subnet { IPv4Subnet(text)! }
    static func address(_ text: String) -> IPv4Address { IPv4Address(text)! }

    @Test func anOpenNetworkMasqueradesOutAndForwardsBothWays() {
        let rules = BridgeRules.network(bridge: "berth1", subnet: Self.subnet("172.18.0.0/16"), isInternal: false)
        #expect(rules.map { "\($0.table) \($0.chain) \($0.specification.joined(separator: " "))" } == [
            "nat BERTH-POSTROUTING -s 127.0.0.0/8 -o berth1 -j MASQUERADE",
            "filter BERTH-FORWARD -i berth1 -o berth1 -j ACCEPT",
            "filter BERTH-FORWARD -i berth1 -o berth+ -j DROP",
            "nat BERTH-POSTROUTING -s 172.18.0.0/16 ! -o berth1 -j MASQUERADE",
            "filter BERTH-FORWARD -i berth1 -j ACCEPT",
            "filter BERTH-FORWARD -o berth1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        ])
    }

    @Test func anInternalNetworkNeitherMasqueradesNorForwardsOut() {
        let rules = BridgeRules.network(bridge: "berth2", subnet: Self.subnet("172.19.0.0/16"), isInternal: true)
        #expect(!rules.contains { $0.specification.contains("172.19.0.0/16") })
        #expect(rules.suffix(2).map(\.specification) == [["-i", "berth2", "-j", "DROP"], ["-o", "berth2", "-j", "DROP"]])
        #expect(!rules.contains { $0.specification == ["-i", "berth2", "-j", "ACCEPT"] })
    }

    @Test func aPublishedPortIsTranslatedAndLetThrough() {
        let any = BridgeRules.publishedPort(proto: "tcp", hostAddress: nil, hostPort: 8080, container: Self.address("172.17.0.2"),
                                            containerPort: 80, bridge: "berth0")
        #expect(any == [
            FilterRule("nat", "BERTH-DNAT", ["-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "172.17.0.2:80"]),
            FilterRule("filter", "BERTH-FORWARD", ["-d", "172.17.0.2", "-o", "berth0", "-p", "tcp", "--dport", "80", "-j", "ACCEPT"]),
        ])
        let loopback = BridgeRules.publishedPort(proto: "udp", hostAddress: Self.address("127.0.0.1"), hostPort: 5353,
                                                 container: Self.address("172.17.0.3"), containerPort: 53, bridge: "berth0")
        #expect(loopback.first?.specification.prefix(6) == ["-p", "udp", "-d", "127.0.0.1", "--dport", "5353"])
    }

    @Test func subnetsComeFromDockersPoolsAvoidingWhatIsTaken() {
        #expect(SubnetPool.firstFree(avoiding: [])?.description == "172.17.0.0/16")
        #expect(SubnetPool.firstFree(avoiding: [Self.subnet("172.17.0.0/16"), Self.subnet("172.18.5.0/24")])?.description
            == "172.19.0.0/16")
        // A host route over all of 172.16/12 leaves the 192.168 pool.
        #expect(SubnetPool.firstFree(avoiding: [Self.subnet("172.16.0.0/12"), Self.subnet("192.168.0.0/24")])?.description
            == "192.168.16.0/20")
        #expect(SubnetPool.firstFree(avoiding: [Self.subnet("0.0.0.0/1"), Self.subnet("128.0.0.0/1")]) == nil)
    }

    @Test func hostRoutesAreReadInNetworkOrderWithoutTheDefault() {
        let table = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            berth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
            """
        #expect(HostRouteTable.subnets(procNetRoute: table).map(\.description) == ["192.0.2.0/24", "172.17.0.0/16"])
    }

    @Test func resolvConfKeepsServersAndOtherLines() {
        let host = ResolvConf(parsing: """
            # written by the DHCP client
            nameserver 127.0.0.53
            nameserver 10.0.0.2
            nameserver fe80::1
            search example.internal

            options edns0
            """)
        #expect(host == ResolvConf(nameservers: [Self.address("127.0.0.53"), Self.address("10.0.0.2")],
                                   otherLines: ["search example.internal", "options edns0"]))
        #expect(host.forContainer(networkNameServer: nil, userNetwork: false)
            == "nameserver 10.0.0.2\nsearch example.internal\noptions edns0\n")
        #expect(host.forContainer(networkNameServer: Self.address("172.18.0.1"), userNetwork: true)
            == "nameserver 172.18.0.1\nsearch example.internal\noptions edns0\noptions ndots:0\n")
    }

    @Test func dnsFlagsReplaceTheHostsServersSearchesAndOptions() {
        let host = ResolvConf(parsing: "nameserver 10.0.0.2\ndomain corp.internal\nsearch example.internal\noptions edns0\nsortlist 10.0.0.0\n")
        let overrides = ResolvConf.Overrides(servers: ["10.9.8.7", "fd00::53"], searches: ["svc.example.test", "example.test"],
                                             options: ["ndots:5"])
        #expect(host.forContainer(networkNameServer: nil, userNetwork: false, overrides: overrides)
            == "nameserver 10.9.8.7\nnameserver fd00::53\nsortlist 10.0.0.0\nsearch svc.example.test example.test\noptions ndots:5\n")
        // Only what is asked for is replaced; a user network's own name server stays the one used.
        #expect(host.forContainer(networkNameServer: Self.address("172.18.0.1"), userNetwork: true, overrides: .init(searches: ["a.test"]))
            == "nameserver 172.18.0.1\noptions edns0\nsortlist 10.0.0.0\nsearch a.test\noptions ndots:0\n")
    }

    @Test func onlyLoopbackResolversFallBackToPublicOnes() {
        let host = ResolvConf(parsing: "nameserver 127.0.0.53\n")
        #expect(host.forContainer(networkNameServer: nil, userNetwork: false) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
    }

    @Test func hostsFilesNameLoopbackAndThenTheContainer() {
        let base = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
            + "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
        #expect(HostsFile.text() == base)
        #expect(HostsFile.text(address: Self.address("172.17.0.2"), hostname: "c0ffee") == base + "172.17.0.2\tc0ffee\n")
    }

    @Test func addHostEntriesComeBeforeTheContainersOwn() {
        let text = HostsFile.text(address: Self.address("172.17.0.2"), hostname: "c0ffee",
                                  extraHosts: ["db:10.0.0.5", "v6=[2001:db8::1]", "gw:host-gateway", "malformed"],
                                  gateway: Self.address("172.17.0.1"))
        #expect(text.hasSuffix("10.0.0.5\tdb\n2001:db8::1\tv6\n172.17.0.1\tgw\n172.17.0.2\tc0ffee\n"), "\(text)")
        #expect(!HostsFile.text(extraHosts: ["gw:host-gateway"]).contains("gw"), "no gateway without a network")
    }
}
