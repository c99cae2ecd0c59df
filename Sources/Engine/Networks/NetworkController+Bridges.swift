import APIModels
import Foundation
import Networking

/// Each network's bridge, rules and name server on the host, and what the name servers answer.
extension NetworkController {
    /// The network's bridge, addresses and rules on the host, and its name server: made once per
    /// daemon run (each step is idempotent, so a restart finds what it made before).
    func prepareNetwork(_ network: NetworkRecord) async throws {
        guard !preparedNetworks.contains(network.id) else { return }
        guard !networksBeingRemoved.contains(network.id) else { throw ContainerError.notFound("network \(network.name) not found") }
        let filter = packetFilter, ipv6Filter = ipv6PacketFilter
        let chainsMissing = !packetFilterPrepared
        let ipv6ChainsMissing = !ipv6PacketFilterPrepared && network.ipv6Subnet != nil
        do {
            try await runBlocking {
                let socket = try RouteSocket()
                try socket.createBridge(network.bridge)
                guard let index = socket.index(of: network.bridge) else {
                    throw ContainerError.conflict("bridge \(network.bridge) did not appear")
                }
                try socket.addAddress(network.gateway, prefixLength: network.subnet.prefixLength, to: index)
                if let subnet = network.ipv6Subnet, let gateway = network.ipv6Gateway {
                    try? "0\n".write(toFile: "/proc/sys/net/ipv6/conf/\(network.bridge)/disable_ipv6", atomically: false, encoding: .utf8)
                    try socket.addAddress(gateway, prefixLength: subnet.prefixLength, to: index)
                }
                try socket.setUp(index)
                // Published ports answer on 127.0.0.1 too: the host's own loopback traffic may be routed here.
                try? "1\n".write(toFile: "/proc/sys/net/ipv4/conf/\(network.bridge)/route_localnet", atomically: false, encoding: .utf8)
                if chainsMissing { try filter.prepare() }
                let rules = Self.networkRules(network)
                filter.delete(rules)
                try filter.add(rules)
                if network.ipv6Subnet != nil {
                    if ipv6ChainsMissing { try ipv6Filter.prepare() }
                    let ipv6Rules = Self.ipv6NetworkRules(network)
                    ipv6Filter.delete(ipv6Rules)
                    try ipv6Filter.add(ipv6Rules)
                }
            }
        } catch let error as ContainerError {
            throw error
        } catch {
            throw ContainerError.startFailed(code: 125, message: "setting up network \(network.name): \(error)")
        }
        packetFilterPrepared = true
        if network.ipv6Subnet != nil { ipv6PacketFilterPrepared = true }
        preparedNetworks.insert(network.id)
        if network.hasNameServer {
            do {
                nameServers[network.id] = try await NameServer.start(on: network.gateway, upstream: ResolvConf.host().nameservers.first)
            } catch {
                logger.warning("no name server on network \(network.name): \(error)")
            }
        }
        await refreshNameServer(network.id)
    }

    func tearDownNetwork(_ network: NetworkRecord) async {
        preparedNetworks.remove(network.id)
        await nameServers.removeValue(forKey: network.id)?.stop()
        let filter = packetFilter, ipv6Filter = ipv6PacketFilter
        try? await runBlocking {
            filter.delete(Self.networkRules(network))
            if network.ipv6Subnet != nil { ipv6Filter.delete(Self.ipv6NetworkRules(network)) }
            try RouteSocket().deleteLink(network.bridge)
        }
    }

    static func networkRules(_ network: NetworkRecord) -> [FilterRule] {
        BridgeRules.network(bridge: network.bridge, subnet: network.subnet, isInternal: network.internal)
    }

    static func ipv6NetworkRules(_ network: NetworkRecord) -> [FilterRule] {
        BridgeRules.ipv6Network(bridge: network.bridge, isInternal: network.internal)
    }

    /// A default pool's subnet that no network and no route of the host's overlaps.
    func freeSubnet() throws -> IPv4Subnet? {
        SubnetPool.firstFree(avoiding: try catalog.all().map(\.subnet) + HostRouteTable.read())
    }



    /// What the network's name server answers: each running container's name, aliases and short ID.
    /// `including`: a container about to start, whose names (and links) must answer before its command runs.
    func refreshNameServer(_ networkID: String, excluding excluded: String? = nil, including starting: ContainerRecord? = nil) async {
        guard let server = nameServers[networkID], let records = try? containers.all() else { return }
        var table: [String: NameServer.Addresses] = [:]
        var perClient: [IPv4Address: [String: NameServer.Addresses]] = [:]
        let running = records.filter { $0.id != excluded && $0.id != starting?.id && $0.state.isActive } + (starting.map { [$0] } ?? [])
        // Legacy links on this network: the alias answers for the linking container alone.
        for record in running {
            guard let attachment = record.attachments.first(where: { $0.networkID == networkID }), let client = attachment.address else { continue }
            for link in attachment.links ?? [] {
                let parts = link.split(separator: ":", maxSplits: 1).map(String.init)
                guard let target = running.first(where: { $0.name == parts[0] || $0.id.hasPrefix(parts[0]) }),
                      let targetAttachment = target.attachments.first(where: { $0.networkID == networkID }),
                      let address = targetAttachment.address else { continue }
                var addresses = NameServer.Addresses()
                addresses.ipv4 = [address]
                addresses.ipv6 = targetAttachment.ipv6Address.map { [$0] } ?? []
                perClient[client, default: [:]][(parts.count == 2 ? parts[1] : parts[0]).lowercased()] = addresses
            }
        }
        for record in running {
            guard let attachment = record.attachments.first(where: { $0.networkID == networkID }), let address = attachment.address else { continue }
            for name in [record.name, String(record.id.prefix(12))] + attachment.aliases {
                table[name.lowercased(), default: NameServer.Addresses()].ipv4.append(address)
                if let ipv6 = attachment.ipv6Address { table[name.lowercased(), default: NameServer.Addresses()].ipv6.append(ipv6) }
            }
        }
        server.setRecords(table, perClient: perClient)
    }

    /// /etc/hosts and /etc/resolv.conf for this start: the container's own address under its
    /// hostname; on a user network the network's name server, else the host's resolvers (not
    /// loopback ones, which the container cannot reach).
    func writeNetworkFiles(_ record: ContainerRecord, linkedHosts: [String] = []) throws {
        guard let first = record.attachments.first, let address = first.address,
              let network = try catalog.all().first(where: { $0.id == first.networkID }) else { return }
        let hostname = record.config.Hostname ?? String(record.id.prefix(12))
        let hosts = HostsFile.text(address: address, hostname: hostname, extraHosts: linkedHosts + (record.hostConfig.ExtraHosts ?? []),
                                   gateway: network.gateway)
        let resolv = ResolvConf.host().forContainer(
            networkNameServer: network.hasNameServer && nameServers[network.id] != nil ? network.gateway : nil,
            userNetwork: network.hasNameServer, overrides: Self.resolverOverrides(record.hostConfig))
        // Rewritten in place: the files keep the owner a user namespace gave them.
        try Data(hosts.utf8).write(to: URL(fileURLWithPath: paths.hosts(record.id)))
        try Data(resolv.utf8).write(to: URL(fileURLWithPath: paths.resolvConf(record.id)))
    }

    /// `--dns`, `--dns-search` and `--dns-option`.
    static func resolverOverrides(_ host: HostConfig) -> ResolvConf.Overrides {
        ResolvConf.Overrides(servers: host.Dns ?? [], searches: host.DnsSearch ?? [], options: host.DnsOptions ?? [])
    }
}
