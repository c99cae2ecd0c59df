import APIModels
import Foundation
import Networking
import SystemSupport

/// Published ports: host sockets that hold them, and the rules that forward them.
extension NetworkController {
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
        guard descriptor >= 0 else { throw ContainerError.startFailed(code: 125, message: "socket: \(SystemError.text(errno))") }
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
                                        : "Bind for \(shown) failed: \(SystemError.text(reason))"))
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
}
