import APIModels
import Foundation
import Networking
import SystemSupport

/// Which networks a container joins, the addresses it gets, and its links on each start.
extension NetworkController {
    /// The networks a new container joins: its network mode's and any others its create names.
    func requestedAttachments(_ host: inout HostConfig, _ networking: NetworkingConfig?) throws -> [NetworkAttachment] {
        let endpoints = networking?.EndpointsConfig ?? [:]
        let mode = host.NetworkMode ?? ""
        switch mode {
        case "none", "host":
            if let other = endpoints.keys.first(where: { $0 != mode }) {
                throw ContainerError.invalid("container cannot be connected to network \(other) with network mode \(mode)")
            }
            return []
        case let mode where mode.hasPrefix("container:"):
            // The container's own settings were checked against the joined one's by the service.
            return []
        default:
            let primary = mode.isEmpty || mode == "default" ? try defaultNetwork() : try network(mode)
            host.NetworkMode = primary.name
            var attachments = [try Self.attachment(to: primary, endpoint: endpoints[primary.name] ?? endpoints[primary.id] ?? endpoints[mode])]
            for (name, endpoint) in endpoints.sorted(by: { $0.key < $1.key }) where name != mode && name != primary.name && name != primary.id {
                let network = try network(name)
                if attachments.contains(where: { $0.networkID == network.id }) { continue }
                attachments.append(try Self.attachment(to: network, endpoint: endpoint))
            }
            return attachments
        }
    }

    static func attachment(to network: NetworkRecord, endpoint: EndpointSettings?) throws -> NetworkAttachment {
        let aliases = endpoint?.Aliases ?? []
        if network.isDefault, !aliases.isEmpty {
            throw ContainerError.invalid("network-scoped alias is supported only for containers in user defined networks")
        }
        var requestedIPv6: IPv6Address?
        if let text = endpoint?.IPAMConfig?.IPv6Address, !text.isEmpty {
            guard let subnet = network.ipv6Subnet else {
                throw ContainerError.invalid("invalid IPv6 address \(text): network \(network.name) has no IPv6 (create it with --ipv6)")
            }
            guard let address = IPv6Address(text), subnet.contains(address), address != network.ipv6Gateway, address != subnet.network else {
                throw ContainerError.invalid("invalid IPv6 address \(text) for network \(network.name) (\(subnet))")
            }
            requestedIPv6 = address
        }
        var requested: IPv4Address?
        if let text = endpoint?.IPAMConfig?.IPv4Address, !text.isEmpty {
            guard let address = IPv4Address(text), network.subnet.contains(address), address != network.gateway,
                  address != network.subnet.network, address != network.subnet.broadcast else {
                throw ContainerError.invalid("invalid IPv4 address \(text) for network \(network.name) (\(network.subnet))")
            }
            requested = address
        }
        var attachment = NetworkAttachment(networkID: network.id, networkName: network.name, aliases: aliases, requestedAddress: requested)
        attachment.requestedIPv6Address = requestedIPv6
        if let mac = endpoint?.MacAddress, !mac.isEmpty {
            attachment.requestedMACAddress = try normalizedMAC(mac)
        }
        var linkLocal: [IPv4Address] = []
        for text in endpoint?.IPAMConfig?.LinkLocalIPs ?? [] {
            guard let address = IPv4Address(text), IPv4Subnet("169.254.0.0/16")!.contains(address) else {
                throw ContainerError.invalid("invalid link-local IP address: \(text)")
            }
            linkLocal.append(address)
        }
        attachment.linkLocalAddresses = linkLocal.isEmpty ? nil : linkLocal
        attachment.driverOptions = (endpoint?.DriverOpts).flatMap { $0.isEmpty ? nil : $0 }
        // `CONTAINER[:ALIAS]`, kept as `CONTAINER:ALIAS`; the container may come later, as in dockerd.
        let links = try (endpoint?.Links ?? []).map { link -> String in
            let parts = link.split(separator: ":", maxSplits: 1).map { $0.hasPrefix("/") ? String($0.dropFirst()) : String($0) }
            guard let target = parts.first, !target.isEmpty else { throw ContainerError.invalid("invalid link: \(link)") }
            return "\(target):\(parts.count == 2 ? parts[1] : target)"
        }
        if !links.isEmpty {
            guard !network.isDefault else {
                throw ContainerError.invalid("links on the default network are --link options of the container, not of its endpoint")
            }
            attachment.links = links
        }
        return attachment
    }

    /// `aa:bb:cc:dd:ee:ff` in lower case; anything else is refused as dockerd does.
    static func normalizedMAC(_ text: String) throws -> String {
        let octets = text.split(separator: ":", omittingEmptySubsequences: false)
        guard octets.count == 6, octets.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else {
            throw ContainerError.invalid("invalid MAC address: \(text)")
        }
        return text.lowercased()
    }

    /// Gives the attachment an address, a MAC address made from it (as Docker does) and the name
    /// of the host's end of its link.
    func addressed(_ attachment: NetworkAttachment, on network: NetworkRecord, taken: Set<IPv4Address>, interfaceIndex: Int,
                   containerID: String? = nil, takenIPv6: Set<IPv6Address> = [], withIPv6: Bool = true) throws -> NetworkAttachment {
        var attachment = attachment
        if let subnet = network.ipv6Subnet, withIPv6 {
            if let requested = attachment.requestedIPv6Address {
                guard !takenIPv6.contains(requested) else {
                    throw ContainerError.conflict("Address already in use: \(requested) on network \(network.name)")
                }
                attachment.ipv6Address = requested
            } else {
                var index: UInt64 = 1
                while let candidate = subnet.host(index), candidate == network.ipv6Gateway || takenIPv6.contains(candidate) { index += 1 }
                guard let found = subnet.host(index) else {
                    throw ContainerError.conflict("no available IPv6 addresses on network \(network.name)")
                }
                attachment.ipv6Address = found
            }
        }
        let address: IPv4Address
        if let requested = attachment.requestedAddress {
            guard !taken.contains(requested) else {
                throw ContainerError.conflict("Address already in use: \(requested) on network \(network.name)")
            }
            address = requested
        } else {
            // From the IP range when the network has one, never an auxiliary address.
            let pool = network.ipRange ?? network.subnet
            let reserved = Set((network.auxiliaryAddresses ?? [:]).values)
            var index: UInt32 = 1
            var found: IPv4Address?
            while let candidate = pool.host(index) {
                if candidate != network.gateway, network.subnet.contains(candidate), candidate != network.subnet.broadcast,
                   !taken.contains(candidate), !reserved.contains(candidate) { found = candidate; break }
                index += 1
            }
            guard let found else { throw ContainerError.conflict("no available IPv4 addresses on network \(network.name)") }
            address = found
        }
        attachment.address = address
        attachment.macAddress = attachment.requestedMACAddress
            ?? (["02", "42"] + address.octets.map { String(format: "%02x", $0) }).joined(separator: ":")
        attachment.hostInterface = "vb\((containerID ?? "").prefix(9))\(interfaceIndex)"
        return attachment
    }

    /// Every address a running container holds, on any network.
    func addressesInUse() throws -> Set<IPv4Address> {
        Set(try containers.all().filter(\.state.isActive).flatMap { $0.attachments.compactMap(\.address) })
            .union(leases.values.joined())
    }

    /// Every IPv6 address a running container holds, on any network.
    func ipv6AddressesInUse() throws -> Set<IPv6Address> {
        Set(try containers.all().filter(\.state.isActive).flatMap { $0.attachments.compactMap(\.ipv6Address) })
            .union(ipv6Leases.values.joined())
    }

    /// Addresses the container's attachments for this start and, for a container whose network
    /// namespace is on this host, makes it with a veth on each network's bridge. On failure nothing
    /// of it is left.
    func bringUp(_ record: ContainerRecord, inHostNamespace: Bool) async throws -> [NetworkAttachment] {
        let known = try catalog.all()
        let networks = try record.attachments.map { attachment in
            guard let network = known.first(where: { $0.id == attachment.networkID }) else {
                throw ContainerError.notFound("network \(attachment.networkName) not found")
            }
            return network
        }
        for network in networks { try await prepareNetwork(network) }
        // From here to the lease, no suspension: another start must see these addresses as taken.
        var taken = try addressesInUse()
        var takenIPv6 = try ipv6AddressesInUse()
        var attachments: [NetworkAttachment] = []
        for (index, (attachment, network)) in zip(record.attachments, networks).enumerated() {
            // A utility VM's agent addresses IPv4 only: its container stays off IPv6.
            let addressed = try addressed(attachment, on: network, taken: taken, interfaceIndex: index, containerID: record.id,
                                          takenIPv6: takenIPv6, withIPv6: inHostNamespace)
            attachments.append(addressed)
            if let address = addressed.address { taken.insert(address) }
            if let address = addressed.ipv6Address { takenIPv6.insert(address) }
        }
        leases[record.id] = Set(attachments.compactMap(\.address))
        ipv6Leases[record.id] = Set(attachments.compactMap(\.ipv6Address))
        guard inHostNamespace else { return attachments }
        let path = paths.networkNamespace(record.id), plumbed = attachments, joined = networks
        try await runBlocking {
            NetworkNamespace.remove(at: path)
            let inside = try NetworkNamespace.create(at: path)
            do {
                let host = try RouteSocket()
                // The first network that reaches beyond the host carries the default route.
                let routed = zip(plumbed, joined).first { !$0.1.internal }?.0.networkID
                for (index, (attachment, network)) in zip(plumbed, joined).enumerated() {
                    guard let bridge = host.index(of: network.bridge) else { throw ContainerError.conflict("bridge \(network.bridge) is gone") }
                    try Self.plumbVeth(attachment, network: network, host: host, bridge: bridge, inside: inside, interface: "eth\(index)",
                                       namespacePath: path, defaultRoute: attachment.networkID == routed)
                }
            } catch {
                for attachment in plumbed { if let name = attachment.hostInterface { try? RouteSocket().deleteLink(name) } }
                NetworkNamespace.remove(at: path)
                throw error
            }
        }
        return attachments
    }

    /// One veth: the host's end on the bridge, the other as `interface` in the container's namespace, addressed and up.
    static func plumbVeth(_ attachment: NetworkAttachment, network: NetworkRecord, host: RouteSocket, bridge: Int32, inside: RouteSocket,
                          interface: String, namespacePath: String, defaultRoute: Bool) throws {
        guard let address = attachment.address, let mac = attachment.macAddress, let hostName = attachment.hostInterface else { return }
        let namespace = open(namespacePath, O_RDONLY | O_CLOEXEC)
        guard namespace >= 0 else { throw ContainerError.conflict("opening \(namespacePath): \(SystemError.text(errno))") }
        defer { close(namespace) }
        try host.createVethPair(hostName: hostName, master: bridge, peerName: interface, peerNamespace: namespace,
                                peerMAC: mac.split(separator: ":").compactMap { UInt8($0, radix: 16) })
        guard let index = inside.index(of: interface) else { throw ContainerError.conflict("\(interface) did not appear in the container") }
        try inside.addAddress(address, prefixLength: network.subnet.prefixLength, to: index)
        for linkLocal in attachment.linkLocalAddresses ?? [] { try inside.addAddress(linkLocal, prefixLength: 16, to: index) }
        if let address = attachment.ipv6Address, let subnet = network.ipv6Subnet {
            try inside.addAddress(address, prefixLength: subnet.prefixLength, to: index)
        }
        try inside.setUp(index)
        if defaultRoute { try inside.addDefaultRoute(via: network.gateway, on: index) }
        if defaultRoute, attachment.ipv6Address != nil, let gateway = network.ipv6Gateway {
            try inside.addDefaultRoute(via: gateway, on: index)
        }
    }

    /// Undoes a start's networking: published ports, the namespace and its veths, the addresses.
    func release(_ record: inout ContainerRecord, ports: [PublishedPort], inHostNamespace: Bool) async {
        guard !record.attachments.isEmpty else { return }
        let networks = (try? catalog.all()) ?? []
        packetFilter.delete(portRules(record, ports: ports, networks: networks))
        for descriptor in portReservations.removeValue(forKey: record.id) ?? [] { close(descriptor) }
        leases[record.id] = nil
        ipv6Leases[record.id] = nil
        let interfaces = record.attachments.compactMap(\.hostInterface)
        // A VM's TAPs go with the VM.
        if inHostNamespace {
            let path = paths.networkNamespace(record.id)
            try? await runBlocking {
                // Deleting the host's end takes the container's with it at once, rather than when the namespace ends.
                if let socket = try? RouteSocket() { for name in interfaces { try? socket.deleteLink(name) } }
                NetworkNamespace.remove(at: path)
            }
        }
        record.state.networks = record.state.networks?.map { attachment in
            var cleared = attachment
            cleared.address = nil
            cleared.ipv6Address = nil
            cleared.macAddress = nil
            cleared.hostInterface = nil
            return cleared
        }
        for networkID in Set(record.attachments.map(\.networkID)) { await refreshNameServer(networkID, excluding: record.id) }
    }



    /// Joins a running container to one more network: the network set up, an address chosen and
    /// leased, and for a container whose namespace is on this host a veth plumbed in as the next
    /// `ethN` (a VM's runtime plugs a card in for the rest; IPv4 only, as its agent addresses it).
    func joinRunning(_ record: ContainerRecord, to network: NetworkRecord, _ attachment: NetworkAttachment, inHostNamespace: Bool) async throws
        -> NetworkAttachment
    {
        try await prepareNetwork(network)
        let addressed = try addressed(attachment, on: network, taken: try addressesInUse(), interfaceIndex: Self.nextInterfaceIndex(record),
                                      containerID: record.id, takenIPv6: try ipv6AddressesInUse(), withIPv6: inHostNamespace)
        if let address = addressed.address { leases[record.id, default: []].insert(address) }
        if let address = addressed.ipv6Address { ipv6Leases[record.id, default: []].insert(address) }
        guard inHostNamespace else { return addressed }
        let path = paths.networkNamespace(record.id), interface = "eth\(record.attachments.count)"
        try await runBlocking {
            let host = try RouteSocket()
            guard let bridge = host.index(of: network.bridge) else { throw ContainerError.conflict("bridge \(network.bridge) is gone") }
            let inside = try NetworkNamespace.socket(inNamespaceAt: path)
            try Self.plumbVeth(addressed, network: network, host: host, bridge: bridge, inside: inside, interface: interface,
                               namespacePath: path, defaultRoute: false)
        }
        return addressed
    }

    /// The index in the host-side name of a running container's next link: one past the highest in
    /// use, so a network left and another joined never reuse a name still going away.
    static func nextInterfaceIndex(_ record: ContainerRecord) -> Int {
        let prefix = "vb\(record.id.prefix(9))"
        let used = record.attachments.compactMap { $0.hostInterface }.filter { $0.hasPrefix(prefix) }.compactMap { Int($0.dropFirst(prefix.count)) }
        return max(record.attachments.count, (used.max() ?? -1) + 1)
    }

    /// Takes a running container's link to a network away (its end in the container goes with the host's).
    func unplug(_ attachment: NetworkAttachment, of containerID: String) async {
        if let address = attachment.address { leases[containerID]?.remove(address) }
        if let address = attachment.ipv6Address { ipv6Leases[containerID]?.remove(address) }
        if let interface = attachment.hostInterface { try? await runBlocking { try RouteSocket().deleteLink(interface) } }
    }
}
