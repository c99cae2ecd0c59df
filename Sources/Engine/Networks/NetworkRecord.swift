import Foundation
import Networking

/// A bridge network: a Linux bridge on the host with the network's gateway address, the subnet its
/// containers' addresses come from, and whether it reaches beyond the host.
public struct NetworkRecord: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var created: Date
    /// The host's bridge device: berthd's `--bridge` for the default network, `berth-<id>` for others.
    public var bridge: String
    public var subnet: IPv4Subnet
    public var gateway: IPv4Address
    /// No NAT and no forwarding off the bridge: its containers reach only each other.
    public var `internal`: Bool
    public var attachable: Bool
    public var labels: [String: String]
    public var options: [String: String]
    /// `--ip-range`: where containers' addresses come from, inside the subnet; the whole subnet without it.
    public var ipRange: IPv4Subnet?
    /// `--aux-address NAME=ADDRESS`: addresses no container gets.
    public var auxiliaryAddresses: [String: IPv4Address]?
    /// `--ipv6`: the network's IPv6 subnet and the bridge's address in it; nil on an IPv4-only network.
    public var ipv6Subnet: IPv6Subnet?
    public var ipv6Gateway: IPv6Address?

    /// Docker's name for the default network, which containers join unless told otherwise.
    public static let defaultName = "bridge"
    /// Names that are network modes, not networks one may create.
    public static let reservedNames: Set<String> = ["bridge", "host", "none", "default"]

    public var isDefault: Bool { name == Self.defaultName }
    /// Docker resolves names only on networks users made; the default network uses the host's resolvers.
    public var hasNameServer: Bool { !isDefault }

    /// Bridge names are at most 15 bytes (IFNAMSIZ - 1).
    static func bridgeName(forID id: String) -> String { "berth-" + id.prefix(9) }
}

/// A container's place on one network: chosen when connected, addressed when it runs.
public struct NetworkAttachment: Codable, Sendable, Equatable {
    public var networkID: String
    public var networkName: String
    /// Further names the container answers to on this network (`--network-alias`, compose's service name).
    public var aliases: [String]
    /// `--ip`: the address asked for; otherwise one is chosen at each start.
    public var requestedAddress: IPv4Address?
    /// `--ip6`: the IPv6 address asked for on an IPv6 network; otherwise one is chosen at each start.
    public var requestedIPv6Address: IPv6Address?
    /// While the container runs on an IPv6 network: its IPv6 address.
    public var ipv6Address: IPv6Address?
    /// `--mac-address`: the interface's MAC address; otherwise one made from its IPv4 address.
    public var requestedMACAddress: String?
    /// `--link-local-ip`: further link-local addresses on the interface.
    public var linkLocalAddresses: [IPv4Address]?
    /// Legacy links on a user network (`CONTAINER:ALIAS`).
    public var links: [String]?
    /// `--driver-opt`s of the endpoint, kept and shown.
    public var driverOptions: [String: String]?
    /// While the container runs: its address, MAC address and the host's end of its link.
    public var address: IPv4Address?
    public var macAddress: String?
    public var hostInterface: String?

    public init(networkID: String, networkName: String, aliases: [String] = [], requestedAddress: IPv4Address? = nil) {
        self.networkID = networkID
        self.networkName = networkName
        self.aliases = aliases
        self.requestedAddress = requestedAddress
    }
}

/// A published port of a running container: where the host listens and where that goes.
public struct PublishedPort: Codable, Sendable, Equatable, Hashable {
    public var hostAddress: IPv4Address?
    public var hostPort: UInt16
    public var containerPort: UInt16
    public var proto: String

    public init(hostAddress: IPv4Address?, hostPort: UInt16, containerPort: UInt16, proto: String) {
        self.hostAddress = hostAddress
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.proto = proto
    }
}
