/// The packet-filter rules of a bridge network and of a container's published ports, as text for
/// `PacketFilter` (iptables' own words).
public enum BridgeRules {
    /// Masquerading off the host (not for internal networks), loopback sources for published ports,
    /// and forwarding: within the bridge, not to other Berth bridges, out and back for the rest.
    public static func network(bridge: String, subnet: IPv4Subnet, isInternal: Bool) -> [FilterRule] {
        var rules = [
            FilterRule("nat", PacketFilter.masqueradeChain, ["-s", "127.0.0.0/8", "-o", bridge, "-j", "MASQUERADE"]),
            FilterRule("filter", PacketFilter.forwardChain, ["-i", bridge, "-o", bridge, "-j", "ACCEPT"]),
            FilterRule("filter", PacketFilter.forwardChain, ["-i", bridge, "-o", "berth+", "-j", "DROP"]),
        ]
        if isInternal {
            rules += [
                FilterRule("filter", PacketFilter.forwardChain, ["-i", bridge, "-j", "DROP"]),
                FilterRule("filter", PacketFilter.forwardChain, ["-o", bridge, "-j", "DROP"]),
            ]
        } else {
            rules += [
                FilterRule("nat", PacketFilter.masqueradeChain, ["-s", subnet.description, "!", "-o", bridge, "-j", "MASQUERADE"]),
                FilterRule("filter", PacketFilter.forwardChain, ["-i", bridge, "-j", "ACCEPT"]),
                FilterRule("filter", PacketFilter.forwardChain,
                           ["-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]),
            ]
        }
        return rules
    }

    /// The IPv6 forwarding rules of a network with IPv6: the same isolation as its IPv4 rules (within
    /// the bridge, never to another Berth bridge, none off the host for an internal one).
    public static func ipv6Network(bridge: String, isInternal: Bool) -> [FilterRule] {
        network(bridge: bridge, subnet: IPv4Subnet("0.0.0.0/0")!, isInternal: isInternal).filter { $0.table == "filter" }
    }

    /// A published port: traffic to the host's port (on one address, or any) translated to the
    /// container's, and let through to it on its bridge.
    public static func publishedPort(proto: String, hostAddress: IPv4Address?, hostPort: UInt16,
                                     container: IPv4Address, containerPort: UInt16, bridge: String) -> [FilterRule] {
        let destination = ["-p", proto] + (hostAddress.map { ["-d", $0.description] } ?? []) + ["--dport", String(hostPort)]
        return [
            FilterRule("nat", PacketFilter.translationChain, destination + ["-j", "DNAT", "--to-destination", "\(container):\(containerPort)"]),
            FilterRule("filter", PacketFilter.forwardChain,
                       ["-d", container.description, "-o", bridge, "-p", proto, "--dport", String(containerPort), "-j", "ACCEPT"]),
        ]
    }
}
