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
    let ipv6PacketFilter = PacketFilter(family: .ipv6)
    var ipv6PacketFilterPrepared = false
    /// Networks whose bridge, rules and name server this daemon run has set up.
    var preparedNetworks: Set<String> = []
    /// Networks whose bridge is being torn down before their row goes: no start may make it again.
    var networksBeingRemoved: Set<String> = []
    /// Whether Berth's iptables chains and their jumps were checked this daemon run.
    var packetFilterPrepared = false
    var nameServers: [String: NameServer] = [:]
    /// Per container: the sockets holding its published ports.
    var portReservations: [String: [Int32]] = [:]
    /// Per container: the addresses this daemon run handed it. The catalog shows a start's
    /// addresses only once the start is recorded, and starts run side by side.
    var leases: [String: Set<IPv4Address>] = [:]
    var ipv6Leases: [String: Set<IPv6Address>] = [:]

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
        // Any name dockerd takes (spaces included), but not one a path or an ID prefix could confuse.
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, !name.contains("/"),
              !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ContainerError.invalid("invalid network name \"\(name)\": it must be non-empty, without '/' or control characters")
        }
        let existing = try listNetworks()
        if NetworkRecord.reservedNames.contains(name) || existing.contains(where: { $0.name == name }) {
            throw ContainerError.conflict("network with name \(name) already exists")
        }
        if let driver = request.Driver, !driver.isEmpty, driver != "bridge" {
            throw ContainerError.notFound("plugin \"\(driver)\" not found")
        }
        let allRanges = request.IPAM?.Config ?? []
        let ranges = allRanges.filter { !($0.Subnet ?? "").contains(":") }
        let ipv6Ranges = allRanges.filter { ($0.Subnet ?? "").contains(":") }
        guard ranges.count <= 1 else { throw ContainerError.invalid("a bridge network takes one IPv4 subnet") }
        guard ipv6Ranges.count <= 1 else { throw ContainerError.invalid("a bridge network takes one IPv6 subnet") }
        // An IPv6 subnet enables IPv6 unless the request turns it off, as current dockerd has it.
        if !ipv6Ranges.isEmpty, request.EnableIPv6 == false {
            throw ContainerError.invalid("network has an IPv6 subnet but IPv6 is disabled")
        }
        var ipv6Subnet: IPv6Subnet?
        var ipv6Gateway: IPv6Address?
        if request.EnableIPv6 == true || !ipv6Ranges.isEmpty {
            if let range = ipv6Ranges.first, let text = range.Subnet {
                guard let parsed = IPv6Subnet(text), parsed.prefixLength <= 120 else {
                    throw ContainerError.invalid("invalid subnet \(text): an IPv6 network of at most /120 in CIDR form, without host bits")
                }
                if let other = existing.first(where: { $0.ipv6Subnet.map(parsed.overlaps) == true }) {
                    throw ContainerError.conflict("invalid pool request: Pool overlaps with other one on this address space "
                        + "(\(parsed) and network \(other.name)'s \(other.ipv6Subnet!))")
                }
                ipv6Subnet = parsed
                if let gateway = range.Gateway {
                    guard let address = IPv6Address(gateway), parsed.contains(address), address != parsed.network else {
                        throw ContainerError.invalid("no matching subnet for gateway \(gateway)")
                    }
                    ipv6Gateway = address
                }
            } else {
                // As dockerd does with no IPv6 subnet given: a unique local /64 of the network's own.
                var generator = SystemRandomNumberGenerator()
                ipv6Subnet = IPv6Subnet.uniqueLocal(seed: generator.next())
            }
            ipv6Gateway = ipv6Gateway ?? ipv6Subnet?.host(1)
        }
        let subnet: IPv4Subnet
        var gateway: IPv4Address?
        var ipRange: IPv4Subnet?
        var auxiliary: [String: IPv4Address] = [:]
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
            if let text = range.IPRange, !text.isEmpty {
                guard let pool = IPv4Subnet(text), parsed.contains(pool.network), parsed.contains(pool.broadcast) else {
                    throw ContainerError.invalid("invalid ip-range \(text): it must be a network in CIDR form inside \(parsed)")
                }
                ipRange = pool
            }
            for (key, text) in range.AuxiliaryAddresses ?? [:] {
                guard let address = IPv4Address(text), parsed.contains(address) else {
                    throw ContainerError.invalid("invalid auxiliary address \(key)=\(text): not in \(parsed)")
                }
                auxiliary[key] = address
            }
        } else {
            guard let free = try freeSubnet() else { throw ContainerError.invalid("could not find an available, non-overlapping IPv4 address pool") }
            subnet = free
        }
        let id = ContainerService.newID()
        var network = NetworkRecord(id: id, name: name, created: Date(), bridge: NetworkRecord.bridgeName(forID: id), subnet: subnet,
                                    gateway: gateway ?? subnet.host(1)!, internal: request.Internal == true,
                                    attachable: request.Attachable == true, labels: request.Labels ?? [:],
                                    options: request.Options ?? [:])
        network.ipRange = ipRange
        network.ipv6Subnet = ipv6Subnet
        network.ipv6Gateway = ipv6Gateway
        network.auxiliaryAddresses = auxiliary.isEmpty ? nil : auxiliary
        // The row first: a bridge exists only for a recorded network, so a daemon killed in between
        // leaves a network whose bridge its first use makes (as after a reboot), never a bridge no
        // network names. The row goes again if the bridge cannot be made.
        try catalog.insert(network)
        do {
            try await prepareNetwork(network)
        } catch {
            await tearDownNetwork(network)
            try? catalog.delete(network.id)
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
        // The bridge before the row, for the same reason as at creation.
        networksBeingRemoved.insert(network.id)
        defer { networksBeingRemoved.remove(network.id) }
        await tearDownNetwork(network)
        try catalog.delete(network.id)
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
}
