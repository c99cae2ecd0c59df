import CNetlink
import Glibc
import SystemSupport

/// A failed netlink request, with what was being done and libnl's reason.
public struct NetlinkError: Error, CustomStringConvertible {
    public let operation: String
    public let reason: String
    public var description: String { "\(operation): \(reason)" }
}

/// A netlink route socket (libnl) that acts in the network namespace it was opened in: links,
/// addresses and routes, made and removed without running `ip`.
public final class RouteSocket {
    private let socket: OpaquePointer

    /// A socket in the calling thread's current network namespace.
    public convenience init() throws {
        let descriptor = Glibc.socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
        guard descriptor >= 0 else { throw NetlinkError(operation: "opening a netlink socket", reason: SystemError.text(errno)) }
        try self.init(descriptor: descriptor)
    }

    /// Takes over a NETLINK_ROUTE socket opened elsewhere (in another namespace): it keeps acting there.
    init(descriptor: Int32) throws {
        var local = sockaddr_nl()
        local.nl_family = sa_family_t(AF_NETLINK)
        // Port 0: the kernel picks a free one, which libnl then reads back.
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        }
        guard bound == 0, let socket = nl_socket_alloc() else {
            close(descriptor)
            throw NetlinkError(operation: "binding a netlink socket", reason: SystemError.text(errno))
        }
        let code = nl_socket_set_fd(socket, NETLINK_ROUTE, descriptor)
        guard code == 0 else {
            nl_socket_free(socket)
            close(descriptor)
            throw NetlinkError(operation: "adopting a netlink socket", reason: String(cString: nl_geterror(code)))
        }
        self.socket = socket
    }

    deinit { nl_socket_free(socket) }

    private func check(_ code: Int32, _ operation: @autoclosure () -> String, allowing allowed: [Int32] = []) throws {
        guard code < 0, !allowed.contains(-code) else { return }
        throw NetlinkError(operation: operation(), reason: String(cString: nl_geterror(code)))
    }

    /// The interface's index, or nil when there is none by that name.
    public func index(of name: String) -> Int32? {
        var link: OpaquePointer?
        guard rtnl_link_get_kernel(socket, 0, name, &link) == 0, let link else { return nil }
        defer { rtnl_link_put(link) }
        return rtnl_link_get_ifindex(link)
    }

    /// A bridge named `name`, unless one exists already.
    public func createBridge(_ name: String) throws {
        try check(rtnl_link_bridge_add(socket, name), "creating bridge \(name)", allowing: [NLE_EXIST])
    }

    /// A veth pair: `hostName` stays here, enslaved to the bridge `master` and up; `peerName` is made
    /// directly in the namespace `peerNamespace` (a descriptor), with the MAC address given.
    public func createVethPair(hostName: String, master: Int32, peerName: String, peerNamespace: Int32, peerMAC: [UInt8]) throws {
        guard let veth = rtnl_link_veth_alloc() else { throw NetlinkError(operation: "creating \(hostName)", reason: "out of memory") }
        defer { rtnl_link_veth_release(veth) }
        rtnl_link_set_name(veth, hostName)
        rtnl_link_set_master(veth, master)
        rtnl_link_set_flags(veth, UInt32(IFF_UP))
        let peer = rtnl_link_veth_get_peer(veth)
        rtnl_link_set_name(peer, peerName)
        rtnl_link_set_ns_fd(peer, peerNamespace)
        let mac = peerMAC.withUnsafeBytes { nl_addr_build(AF_LLC, $0.baseAddress, $0.count) }
        defer { nl_addr_put(mac) }
        rtnl_link_set_addr(peer, mac)
        rtnl_link_put(peer)
        try check(rtnl_link_add(socket, veth, NLM_F_CREATE | NLM_F_EXCL), "creating veth pair \(hostName)")
    }

    /// Sets the interface up.
    public func setUp(_ index: Int32) throws {
        try change(index, "setting interface \(index) up") { rtnl_link_set_flags($0, UInt32(IFF_UP)) }
    }

    /// Puts the interface on the bridge `master` and sets it up: a TAP that QEMU made for a VM.
    public func attach(_ index: Int32, toBridge master: Int32) throws {
        try change(index, "putting interface \(index) on bridge \(master)") { change in
            rtnl_link_set_master(change, master)
            rtnl_link_set_flags(change, UInt32(IFF_UP))
        }
    }

    /// Gives the interface a new name; it must be down (a TAP QEMU made and nobody raised).
    public func rename(_ index: Int32, to name: String) throws {
        try change(index, "renaming interface \(index) to \(name)") { rtnl_link_set_name($0, name) }
    }

    /// Changes what `describe` sets on a link of the interface's, in one request.
    private func change(_ index: Int32, _ operation: @autoclosure () -> String, _ describe: (OpaquePointer) -> Void) throws {
        var current: OpaquePointer?
        try check(rtnl_link_get_kernel(socket, index, nil, &current), "reading interface \(index)")
        guard let current, let change = rtnl_link_alloc() else { return }
        defer { rtnl_link_put(current); rtnl_link_put(change) }
        describe(change)
        try check(rtnl_link_change(socket, current, change, 0), operation())
    }

    /// Adds `address/prefixLength` to the interface; an address it has already is fine.
    public func addAddress(_ address: IPv4Address, prefixLength: Int, to index: Int32) throws {
        guard let request = rtnl_addr_alloc() else { return }
        defer { rtnl_addr_put(request) }
        let local = Self.netlinkAddress(address, prefixLength: prefixLength)
        defer { nl_addr_put(local) }
        rtnl_addr_set_ifindex(request, index)
        rtnl_addr_set_local(request, local)
        let subnet = IPv4Subnet(address, prefixLength: prefixLength)
        if prefixLength < 31 {
            let broadcast = Self.netlinkAddress(subnet.broadcast, prefixLength: 32)
            defer { nl_addr_put(broadcast) }
            rtnl_addr_set_broadcast(request, broadcast)
        }
        try check(rtnl_addr_add(socket, request, 0), "adding \(address)/\(prefixLength)", allowing: [NLE_EXIST])
    }

    /// The default route through `gateway`, on the interface.
    public func addDefaultRoute(via gateway: IPv4Address, on index: Int32) throws {
        try addDefaultRoute(family: AF_INET, anywhere: Self.netlinkAddress(IPv4Address(0), prefixLength: 0),
                            next: Self.netlinkAddress(gateway, prefixLength: 32), on: index, naming: gateway.description)
    }

    /// Adds the IPv6 `address/prefixLength` to the interface, with no duplicate address detection
    /// (the network's addresses are handed out by berthd); one it has already is fine.
    public func addAddress(_ address: IPv6Address, prefixLength: Int, to index: Int32) throws {
        guard let request = rtnl_addr_alloc() else { return }
        defer { rtnl_addr_put(request) }
        let local = Self.netlinkAddress(address, prefixLength: prefixLength)
        defer { nl_addr_put(local) }
        rtnl_addr_set_ifindex(request, index)
        rtnl_addr_set_local(request, local)
        rtnl_addr_set_flags(request, UInt32(IFA_F_NODAD))
        try check(rtnl_addr_add(socket, request, 0), "adding \(address)/\(prefixLength)", allowing: [NLE_EXIST])
    }

    /// The IPv6 default route through `gateway`, on the interface.
    public func addDefaultRoute(via gateway: IPv6Address, on index: Int32) throws {
        try addDefaultRoute(family: AF_INET6, anywhere: Self.netlinkAddress(IPv6Address(high: 0, low: 0), prefixLength: 0),
                            next: Self.netlinkAddress(gateway, prefixLength: 128), on: index, naming: gateway.description)
    }

    /// A route to `anywhere` (the family's 0/0) through `next`; takes over both addresses.
    private func addDefaultRoute(family: Int32, anywhere: OpaquePointer, next: OpaquePointer, on index: Int32, naming gateway: String) throws {
        defer { nl_addr_put(anywhere); nl_addr_put(next) }
        guard let route = rtnl_route_alloc(), let hop = rtnl_route_nh_alloc() else { return }
        defer { rtnl_route_put(route) }
        rtnl_route_set_family(route, UInt8(family))
        _ = rtnl_route_set_dst(route, anywhere)
        rtnl_route_nh_set_gateway(hop, next)
        rtnl_route_nh_set_ifindex(hop, index)
        rtnl_route_add_nexthop(route, hop)
        try check(rtnl_route_add(socket, route, 0), "adding the default route via \(gateway)")
    }

    /// Removes the interface; one that is gone already is fine.
    public func deleteLink(_ name: String) throws {
        guard let link = rtnl_link_alloc() else { return }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, name)
        try check(rtnl_link_delete(socket, link), "deleting \(name)", allowing: [NLE_NODEV, NLE_OBJ_NOTFOUND])
    }

    private static func netlinkAddress(_ address: IPv6Address, prefixLength: Int) -> OpaquePointer {
        let bytes = address.octets
        let made = bytes.withUnsafeBytes { nl_addr_build(AF_INET6, $0.baseAddress, $0.count) }!
        nl_addr_set_prefixlen(made, Int32(prefixLength))
        return made
    }

    private static func netlinkAddress(_ address: IPv4Address, prefixLength: Int) -> OpaquePointer {
        let bytes = address.octets
        let made = bytes.withUnsafeBytes { nl_addr_build(AF_INET, $0.baseAddress, $0.count) }!
        nl_addr_set_prefixlen(made, Int32(prefixLength))
        return made
    }
}
