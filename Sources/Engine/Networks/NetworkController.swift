import APIModels
import Foundation
import Logging
import Networking

/// Bridge networks: a Linux bridge per network with its gateway address, NAT off the host for
/// non-internal ones, and rules that keep networks apart. A native container gets a veth pair
/// into a network namespace made for it before its shim runs; a VM container a TAP that libvirt
/// puts on the same bridge, which the guest agent configures. Addresses are chosen at each start
/// from what the running containers hold, which the state database keeps across restarts.
public actor NetworkController {
    let catalog: NetworkCatalog
    /// The containers' attachments: which addresses are taken, who a name server answers for.
    let containers: ContainerCatalog
    let paths: ContainerPaths
    let events: EventBus
    let logger: Logger
    /// The default network's bridge device and, when given, its gateway and subnet (berthd's `--bridge`, `--bip`).
    let defaultBridge: String
    let defaultBridgeAddress: (gateway: IPv4Address, subnet: IPv4Subnet)?
    let packetFilter = PacketFilter()
    /// Networks whose bridge, rules and name server this daemon run has set up.
    private var preparedNetworks: Set<String> = []
    /// Whether Berth's iptables chains and their jumps were checked this daemon run.
    private var packetFilterPrepared = false
    private var nameServers: [String: NameServer] = [:]
    /// Per container: the sockets holding its published ports.
    private var portReservations: [String: [Int32]] = [:]
    /// Per container: the addresses this daemon run handed it. The catalog shows a start's
    /// addresses only once the start is recorded, and starts run side by side.
    private var leases: [String: Set<IPv4Address>] = [:]

    init(catalog: NetworkCatalog, containers: ContainerCatalog, paths: ContainerPaths, events: EventBus, logger: Logger,
         defaultBridge: String, defaultBridgeAddress: (gateway: IPv4Address, subnet: IPv4Subnet)?) {
        self.catalog = catalog
        self.containers = containers
        self.paths = paths
        self.events = events
        self.logger = logger
        self.defaultBridge = defaultBridge
        self.defaultBridgeAddress = defaultBridgeAddress
    }

    // MARK: Networks

    public func listNetworks() throws -> [NetworkRecord] {
        _ = try defaultNetwork()
        return try catalog.all()
    }

    /// By full ID, name, or unique ID prefix.
    public func network(_ reference: String) throws -> NetworkRecord {
        let all = try listNetworks()
        if let exact = all.first(where: { $0.id == reference || $0.name == reference }) { return exact }
        let matches = all.filter { !reference.isEmpty && $0.id.hasPrefix(reference) }
        if matches.count == 1 { return matches[0] }
        throw ContainerError.notFound("network \(reference) not found")
    }

    /// The default network, made on first use on a subnet none of the host's routes overlaps.
    func defaultNetwork() throws -> NetworkRecord {
        if let network = try catalog.all().first(where: \.isDefault) { return network }
        guard let subnet = try defaultBridgeAddress?.subnet ?? freeSubnet() else {
            throw ContainerError.invalid("no free subnet is left for the default network")
        }
        let network = NetworkRecord(id: ContainerService.newID(), name: NetworkRecord.defaultName, created: Date(), bridge: defaultBridge,
                                    subnet: subnet, gateway: defaultBridgeAddress?.gateway ?? subnet.host(1)!, internal: false, attachable: false,
                                    labels: [:], options: [:])
        try catalog.insert(network)
        return network
    }

    public func createNetwork(_ request: NetworkCreateRequest) async throws -> NetworkRecord {
        let name = request.Name
        guard ContainerNames.isValid(name) else {
            throw ContainerError.invalid("invalid network name \"\(name)\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        let existing = try listNetworks()
        if NetworkRecord.reservedNames.contains(name) || existing.contains(where: { $0.name == name }) {
            throw ContainerError.conflict("network with name \(name) already exists")
        }
        if let driver = request.Driver, !driver.isEmpty, driver != "bridge" {
            throw ContainerError.notFound("plugin \"\(driver)\" not found")
        }
        if request.EnableIPv6 == true { throw ContainerError.invalid("IPv6 networks are not available in this version of Berth") }
        let ranges = request.IPAM?.Config ?? []
        guard ranges.count <= 1 else { throw ContainerError.invalid("a bridge network takes one IPv4 subnet") }
        let subnet: IPv4Subnet
        var gateway: IPv4Address?
        if let range = ranges.first, let text = range.Subnet {
            guard let parsed = IPv4Subnet(text), parsed.prefixLength <= 30 else {
                throw ContainerError.invalid("invalid subnet \(text): an IPv4 network of at most /30 in CIDR form, without host bits")
            }
            if let other = existing.first(where: { $0.subnet.overlaps(parsed) }) {
                throw ContainerError.conflict("invalid pool request: Pool overlaps with other one on this address space "
                    + "(\(parsed) and network \(other.name)'s \(other.subnet))")
            }
            subnet = parsed
            if let text = range.Gateway {
                guard let address = IPv4Address(text), parsed.contains(address), address != parsed.network, address != parsed.broadcast else {
                    throw ContainerError.invalid("no matching subnet for gateway \(text)")
                }
                gateway = address
            }
        } else {
            guard let free = try freeSubnet() else { throw ContainerError.invalid("could not find an available, non-overlapping IPv4 address pool") }
            subnet = free
        }
        let id = ContainerService.newID()
        let network = NetworkRecord(id: id, name: name, created: Date(), bridge: NetworkRecord.bridgeName(forID: id), subnet: subnet,
                                    gateway: gateway ?? subnet.host(1)!, internal: request.Internal == true,
                                    attachable: request.Attachable == true, labels: request.Labels ?? [:],
                                    options: request.Options ?? [:])
        // The bridge first, so a network that exists can always be used; undone if the row cannot be written.
        try await prepareNetwork(network)
        do {
            try catalog.insert(network)
        } catch {
            await tearDownNetwork(network)
            throw error
        }
        await publishNetwork("create", network)
        return network
    }

    public func removeNetwork(_ reference: String) async throws {
        let network = try self.network(reference)
        if network.isDefault {
            throw ContainerError.conflict("bridge is a pre-defined network and cannot be removed")
        }
        let members = try containers.all().filter { $0.state.isActive && $0.attachments.contains { $0.networkID == network.id } }
        if !members.isEmpty {
            throw ContainerError.conflict("error while removing network: network \(network.name) id \(network.id) has active endpoints "
                + "(\(members.map(\.name).joined(separator: ", ")))")
        }
        try catalog.delete(network.id)
        await tearDownNetwork(network)
        await publishNetwork("destroy", network)
    }

    /// Removes the networks no container is attached to (the default one stays); returns their names.
    public func pruneNetworks(labels: [String]) async throws -> [String] {
        let used = Set(try containers.all().flatMap { $0.attachments.map(\.networkID) })
        var removed: [String] = []
        for network in try listNetworks() where !network.isDefault && !used.contains(network.id)
            && labels.allSatisfy({ LabelFilter.matches($0, in: network.labels) }) {
            try? await removeNetwork(network.id)
            removed.append(network.name)
        }
        return removed
    }

    /// The containers attached to a network, with their place on it.
    public func members(of network: NetworkRecord) throws -> [(container: ContainerRecord, attachment: NetworkAttachment)] {
        try containers.all().compactMap { record in
            record.attachments.first { $0.networkID == network.id }.map { (record, $0) }
        }
    }

    // MARK: Containers' attachments

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
            throw ContainerError.invalid("network mode \(mode) is not available in this version of Berth")
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
        var requested: IPv4Address?
        if let text = endpoint?.IPAMConfig?.IPv4Address, !text.isEmpty {
            guard let address = IPv4Address(text), network.subnet.contains(address), address != network.gateway,
                  address != network.subnet.network, address != network.subnet.broadcast else {
                throw ContainerError.invalid("invalid IPv4 address \(text) for network \(network.name) (\(network.subnet))")
            }
            requested = address
        }
        return NetworkAttachment(networkID: network.id, networkName: network.name, aliases: aliases, requestedAddress: requested)
    }

    /// Gives the attachment an address, a MAC address made from it (as Docker does) and the name
    /// of the host's end of its link.
    func addressed(_ attachment: NetworkAttachment, on network: NetworkRecord, taken: Set<IPv4Address>, interfaceIndex: Int,
                   containerID: String? = nil) throws -> NetworkAttachment {
        var attachment = attachment
        let address: IPv4Address
        if let requested = attachment.requestedAddress {
            guard !taken.contains(requested) else {
                throw ContainerError.conflict("Address already in use: \(requested) on network \(network.name)")
            }
            address = requested
        } else {
            var index: UInt32 = 1
            var found: IPv4Address?
            while let candidate = network.subnet.host(index) {
                if candidate != network.gateway, !taken.contains(candidate) { found = candidate; break }
                index += 1
            }
            guard let found else { throw ContainerError.conflict("no available IPv4 addresses on network \(network.name)") }
            address = found
        }
        attachment.address = address
        attachment.macAddress = (["02", "42"] + address.octets.map { String(format: "%02x", $0) }).joined(separator: ":")
        attachment.hostInterface = "vb\((containerID ?? "").prefix(9))\(interfaceIndex)"
        return attachment
    }

    /// Every address a running container holds, on any network.
    func addressesInUse() throws -> Set<IPv4Address> {
        Set(try containers.all().filter(\.state.isActive).flatMap { $0.attachments.compactMap(\.address) })
            .union(leases.values.joined())
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
        var attachments: [NetworkAttachment] = []
        for (index, (attachment, network)) in zip(record.attachments, networks).enumerated() {
            let addressed = try addressed(attachment, on: network, taken: taken, interfaceIndex: index, containerID: record.id)
            attachments.append(addressed)
            if let address = addressed.address { taken.insert(address) }
        }
        leases[record.id] = Set(attachments.compactMap(\.address))
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
        guard namespace >= 0 else { throw ContainerError.conflict("opening \(namespacePath): \(String(cString: strerror(errno)))") }
        defer { close(namespace) }
        try host.createVethPair(hostName: hostName, master: bridge, peerName: interface, peerNamespace: namespace,
                                peerMAC: mac.split(separator: ":").compactMap { UInt8($0, radix: 16) })
        guard let index = inside.index(of: interface) else { throw ContainerError.conflict("\(interface) did not appear in the container") }
        try inside.addAddress(address, prefixLength: network.subnet.prefixLength, to: index)
        try inside.setUp(index)
        if defaultRoute { try inside.addDefaultRoute(via: network.gateway, on: index) }
    }

    /// Undoes a start's networking: published ports, the namespace and its veths, the addresses.
    func release(_ record: inout ContainerRecord, ports: [PublishedPort], inHostNamespace: Bool) async {
        guard !record.attachments.isEmpty else { return }
        let networks = (try? catalog.all()) ?? []
        packetFilter.delete(portRules(record, ports: ports, networks: networks))
        for descriptor in portReservations.removeValue(forKey: record.id) ?? [] { close(descriptor) }
        leases[record.id] = nil
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
            cleared.macAddress = nil
            cleared.hostInterface = nil
            return cleared
        }
        for networkID in Set(record.attachments.map(\.networkID)) { await refreshNameServer(networkID, excluding: record.id) }
    }

    // MARK: Published ports

    /// `-p` and `-P`: each binding reserved on the host (so a port in use fails the start, and stays
    /// ours while the container runs) and forwarded to the container's first network address.
    func publishPorts(_ record: ContainerRecord) throws -> [PublishedPort] {
        guard let first = record.attachments.first, first.address != nil else { return [] }
        var requested: [(containerPort: UInt16, proto: String, binding: PortBinding)] = []
        for (key, bindings) in (record.hostConfig.PortBindings ?? [:]).sorted(by: { $0.key < $1.key }) {
            let (port, proto) = try Self.portKey(key)
            for binding in bindings.isEmpty ? [PortBinding()] : bindings { requested.append((port, proto, binding)) }
        }
        if record.hostConfig.PublishAllPorts == true {
            for key in (record.config.ExposedPorts ?? [:]).keys.sorted() {
                let (port, proto) = try Self.portKey(key)
                if !requested.contains(where: { $0.containerPort == port && $0.proto == proto }) { requested.append((port, proto, PortBinding())) }
            }
        }
        guard !requested.isEmpty else { return [] }
        var published: [PublishedPort] = []
        var descriptors: [Int32] = []
        do {
            for request in requested {
                let hostIP = request.binding.HostIp.flatMap { $0.isEmpty || $0 == "0.0.0.0" ? nil : $0 }
                var hostAddress: IPv4Address?
                if let hostIP {
                    guard let parsed = IPv4Address(hostIP) else { throw ContainerError.invalid("invalid IP address: \(hostIP)") }
                    hostAddress = parsed
                }
                let portText = request.binding.HostPort ?? ""
                guard let wanted = portText.isEmpty ? 0 : UInt16(portText) else {
                    throw ContainerError.invalid("invalid host port \(portText) for \(request.containerPort)/\(request.proto)")
                }
                let (descriptor, port) = try Self.reservePort(wanted, address: hostAddress, proto: request.proto, container: record.name)
                descriptors.append(descriptor)
                published.append(PublishedPort(hostAddress: hostAddress, hostPort: port, containerPort: request.containerPort, proto: request.proto))
            }
            try packetFilter.add(portRules(record, ports: published, networks: try catalog.all()))
        } catch {
            for descriptor in descriptors { close(descriptor) }
            throw error
        }
        portReservations[record.id] = descriptors
        return published
    }

    /// "80/tcp" (the protocol defaults to tcp).
    static func portKey(_ key: String) throws -> (UInt16, String) {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        guard let port = parts.first.flatMap({ UInt16($0) }), port > 0, proto == "tcp" || proto == "udp" else {
            throw ContainerError.invalid("invalid port specification: \"\(key)\"")
        }
        return (port, proto)
    }

    /// Binds the host's port (0: a free one) without listening: nothing else can take it meanwhile,
    /// and traffic to it is translated before it would reach the socket.
    static func reservePort(_ port: UInt16, address: IPv4Address?, proto: String, container: String) throws -> (Int32, UInt16) {
        let descriptor = socket(AF_INET, (proto == "udp" ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ContainerError.startFailed(code: 125, message: "socket: \(String(cString: strerror(errno)))") }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        socketAddress.sin_addr.s_addr = (address?.value ?? 0).bigEndian
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let reason = errno
            close(descriptor)
            let shown = "\(address?.description ?? "0.0.0.0"):\(port)"
            throw ContainerError.startFailed(code: 125, message: "driver failed programming external connectivity on endpoint \(container): "
                + (reason == EADDRINUSE ? "Bind for \(shown) failed: port is already allocated"
                                        : "Bind for \(shown) failed: \(String(cString: strerror(reason)))"))
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return (descriptor, UInt16(bigEndian: socketAddress.sin_port))
    }

    /// The translation and forwarding rules of a container's published ports.
    func portRules(_ record: ContainerRecord, ports: [PublishedPort], networks: [NetworkRecord]) -> [FilterRule] {
        guard let first = record.attachments.first, let address = first.address,
              let network = networks.first(where: { $0.id == first.networkID }) else { return [] }
        return ports.flatMap { port in
            BridgeRules.publishedPort(proto: port.proto, hostAddress: port.hostAddress, hostPort: port.hostPort,
                                      container: address, containerPort: port.containerPort, bridge: network.bridge)
        }
    }

    // MARK: Bridges

    /// The network's bridge, addresses and rules on the host, and its name server: made once per
    /// daemon run (each step is idempotent, so a restart finds what it made before).
    func prepareNetwork(_ network: NetworkRecord) async throws {
        guard !preparedNetworks.contains(network.id) else { return }
        let filter = packetFilter
        let chainsMissing = !packetFilterPrepared
        do {
            try await runBlocking {
                let socket = try RouteSocket()
                try socket.createBridge(network.bridge)
                guard let index = socket.index(of: network.bridge) else {
                    throw ContainerError.conflict("bridge \(network.bridge) did not appear")
                }
                try socket.addAddress(network.gateway, prefixLength: network.subnet.prefixLength, to: index)
                try socket.setUp(index)
                // Published ports answer on 127.0.0.1 too: the host's own loopback traffic may be routed here.
                try? "1\n".write(toFile: "/proc/sys/net/ipv4/conf/\(network.bridge)/route_localnet", atomically: false, encoding: .utf8)
                if chainsMissing { try filter.prepare() }
                let rules = Self.networkRules(network)
                filter.delete(rules)
                try filter.add(rules)
            }
        } catch let error as ContainerError {
            throw error
        } catch {
            throw ContainerError.startFailed(code: 125, message: "setting up network \(network.name): \(error)")
        }
        packetFilterPrepared = true
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
        let filter = packetFilter
        try? await runBlocking {
            filter.delete(Self.networkRules(network))
            try RouteSocket().deleteLink(network.bridge)
        }
    }

    static func networkRules(_ network: NetworkRecord) -> [FilterRule] {
        BridgeRules.network(bridge: network.bridge, subnet: network.subnet, isInternal: network.internal)
    }

    /// A default pool's subnet that no network and no route of the host's overlaps.
    func freeSubnet() throws -> IPv4Subnet? {
        SubnetPool.firstFree(avoiding: try catalog.all().map(\.subnet) + HostRouteTable.read())
    }

    // MARK: Names

    /// What the network's name server answers: each running container's name, aliases and short ID.
    func refreshNameServer(_ networkID: String, excluding excluded: String? = nil) async {
        guard let server = nameServers[networkID], let records = try? containers.all() else { return }
        var table: [String: [IPv4Address]] = [:]
        for record in records where record.id != excluded && record.state.isActive {
            guard let attachment = record.attachments.first(where: { $0.networkID == networkID }), let address = attachment.address else { continue }
            for name in [record.name, String(record.id.prefix(12))] + attachment.aliases {
                table[name.lowercased(), default: []].append(address)
            }
        }
        server.setRecords(table)
    }

    /// /etc/hosts and /etc/resolv.conf for this start: the container's own address under its
    /// hostname; on a user network the network's name server, else the host's resolvers (not
    /// loopback ones, which the container cannot reach).
    func writeNetworkFiles(_ record: ContainerRecord) throws {
        guard let first = record.attachments.first, let address = first.address,
              let network = try catalog.all().first(where: { $0.id == first.networkID }) else { return }
        let hostname = record.config.Hostname ?? String(record.id.prefix(12))
        let hosts = """
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            ff00::0\tip6-mcastprefix
            ff02::1\tip6-allnodes
            ff02::2\tip6-allrouters
            \(address)\t\(hostname)

            """
        let resolv = ResolvConf.host().forContainer(
            networkNameServer: network.hasNameServer && nameServers[network.id] != nil ? network.gateway : nil,
            userNetwork: network.hasNameServer)
        // Rewritten in place: the files keep the owner a user namespace gave them.
        try Data(hosts.utf8).write(to: URL(fileURLWithPath: paths.hosts(record.id)))
        try Data(resolv.utf8).write(to: URL(fileURLWithPath: paths.resolvConf(record.id)))
    }

    // MARK: Events

    func publishNetwork(_ action: String, _ network: NetworkRecord, container: String? = nil) async {
        var attributes = ["name": network.name, "type": "bridge"]
        if let container { attributes["container"] = container }
        await events.publish(EngineEvent(type: "network", action: action, actorID: network.id, attributes: attributes))
    }

    /// After a daemon restart, for a container still running: its networks' bridges, rules and name
    /// servers, and its published ports held again.
    func restore(_ record: ContainerRecord) async {
        for attachment in record.attachments {
            guard let network = try? catalog.all().first(where: { $0.id == attachment.networkID }) else { continue }
            do { try await prepareNetwork(network) } catch {
                logger.warning("network \(network.name) could not be set up again: \(error)")
            }
        }
        var descriptors: [Int32] = []
        for port in record.state.publishedPorts ?? [] {
            if let (descriptor, _) = try? Self.reservePort(port.hostPort, address: port.hostAddress, proto: port.proto, container: record.name) {
                descriptors.append(descriptor)
            }
        }
        portReservations[record.id] = descriptors
    }

    // MARK: Running containers

    /// Joins a running container (its namespace on this host) to one more network: the network
    /// set up, an address chosen, a veth plumbed in as the next `ethN`.
    func plumbRunning(_ record: ContainerRecord, into network: NetworkRecord, _ attachment: NetworkAttachment) async throws
        -> NetworkAttachment
    {
        try await prepareNetwork(network)
        let addressed = try addressed(attachment, on: network, taken: try addressesInUse(), interfaceIndex: record.attachments.count,
                                      containerID: record.id)
        if let address = addressed.address { leases[record.id, default: []].insert(address) }
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

    /// Takes a running container's link to a network away (its end in the container goes with the host's).
    func unplug(_ attachment: NetworkAttachment, of containerID: String) async {
        if let address = attachment.address { leases[containerID]?.remove(address) }
        if let interface = attachment.hostInterface { try? await runBlocking { try RouteSocket().deleteLink(interface) } }
    }
}
