import APIModels
import Foundation
import Networking

/// Joining and leaving networks: the records are the container service's, the plumbing the
/// network controller's.
extension ContainerService {
    /// A TCP connection to `port` on a running container's own loopback (the CRI's port forwarding):
    /// the socket is made inside its network namespace, so it reaches what listens there only. A
    /// container in a utility VM is reached at its VM's address on its first network.
    public func connectToPort(_ reference: String, port: Int) async throws -> Int32 {
        let record = try find(reference)
        guard record.state.status == .running || record.state.status == .paused, record.state.pid > 0 else {
            throw ContainerError.conflict("container \(record.id) is not running")
        }
        guard let port = UInt16(exactly: port), port > 0 else { throw ContainerError.invalid("invalid port \(port)") }
        if record.runsInVM {
            guard let address = record.attachments.first?.address else {
                throw ContainerError.invalid("container \(record.id) runs in a utility VM on no network: no port of it can be reached")
            }
            return try await runBlocking {
                do {
                    return try NetworkNamespace.connect(to: "\(address)", port: port)
                } catch {
                    throw ContainerError.failed("\(error)")
                }
            }
        }
        let namespace = "/proc/\(record.state.pid)/ns/net"
        return try await runBlocking {
            do {
                return try NetworkNamespace.connectToLoopback(inNamespaceAt: namespace, port: port)
            } catch {
                throw ContainerError.failed("\(error)")
            }
        }
    }

    /// Attaches a container to one more network: at once when it runs (a veth natively, a card
    /// plugged into its VM), else at its next start.
    public func connect(_ containerReference: String, to networkReference: String, endpoint: EndpointSettings?) async throws {
        var record = try find(containerReference)
        let network = try await networks.network(networkReference)
        guard record.hostConfig.NetworkMode != "none", record.hostConfig.NetworkMode != "host",
              record.hostConfig.NetworkMode.flatMap(Self.joinedContainer) == nil else {
            throw ContainerError.invalid("container sharing network namespace with another container or host cannot be connected to any other network")
        }
        if record.attachments.contains(where: { $0.networkID == network.id }) {
            throw ContainerError.conflict("endpoint with name \(record.name) already exists in network \(network.name)")
        }
        var attachment = try NetworkController.attachment(to: network, endpoint: endpoint)
        if record.state.isActive {
            try require(.liveNetworkChanges, of: record, "connecting a running container to a network")
            let runtime = runtime(for: record)
            attachment = try await networks.joinRunning(record, to: network, attachment,
                                                        inHostNamespace: runtime.capabilities.contains(.hostNetworkNamespace))
            do {
                try await runtime.plugNetwork(attachment, on: network, into: record)
            } catch {
                await networks.unplug(attachment, of: record.id)
                throw error
            }
        }
        record.state.networks = record.attachments + [attachment]
        try catalog.updateState(record.id, record.state)
        await networks.refreshNameServer(network.id)
        await networks.publishNetwork("connect", network, container: record.id)
    }

    public func disconnect(_ containerReference: String, from networkReference: String, force: Bool) async throws {
        var record = try find(containerReference)
        let network = try await networks.network(networkReference)
        guard let attachment = record.attachments.first(where: { $0.networkID == network.id }) else {
            throw ContainerError.invalid("container \(record.id) is not connected to network \(network.name)")
        }
        if record.state.isActive {
            try require(.liveNetworkChanges, of: record, "disconnecting a running container from a network")
            try await runtime(for: record).unplugNetwork(attachment, on: network, from: record)
            await networks.unplug(attachment, of: record.id)
        }
        record.state.networks = record.attachments.filter { $0.networkID != network.id }
        try catalog.updateState(record.id, record.state)
        await networks.refreshNameServer(network.id)
        await networks.publishNetwork("disconnect", network, container: record.id)
    }
}

extension ContainerRecord {
    /// The networks the container is attached to, its network mode's first.
    public var attachments: [NetworkAttachment] { state.networks ?? [] }
}
