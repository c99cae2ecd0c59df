import APIModels
import Engine
import Foundation
import NIOCore
import OCI

/// `/networks/*`: bridge networks (create, list, inspect, remove, prune, connect, disconnect), and
/// the `host` and `none` modes shown as the networks Docker lists them as.
public enum NetworkRoutes {
    public static func register(on router: inout Router, containers: ContainerService) {
        router.add(.POST, "/networks/create") { request in
            let body = try decode(NetworkCreateRequest.self, request, what: "network config")
            let network = try await ContainerRoutes.mapErrors { try await containers.networks.createNetwork(body) }
            return .json(NetworkCreateResponse(Id: network.id), status: .created)
        }
        router.add(.GET, "/networks") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            for key in filters.keys where !["name", "id", "label", "driver", "type", "dangling"].contains(key) {
                throw APIError.badRequest("invalid filter '\(key)'")
            }
            var shown: [(resource: NetworkResource, builtin: Bool, used: Bool)] = []
            for network in try await ContainerRoutes.mapErrors({ try await containers.networks.listNetworks() }) {
                shown.append((try await shape(network, containers), network.isDefault, try await !containers.networks.members(of: network).isEmpty))
            }
            shown += pseudoNetworks.map { ($0, true, false) }
            let matching = shown.filter { entry in
                let network = entry.resource
                if let names = filters["name"], !names.contains(where: { network.Name.contains($0) }) { return false }
                if let ids = filters["id"], !ids.contains(where: { network.Id.hasPrefix($0) }) { return false }
                if let drivers = filters["driver"], !drivers.contains(network.Driver) { return false }
                if let labels = filters["label"], !labels.allSatisfy({ LabelFilter.matches($0, in: network.Labels) }) { return false }
                if let types = filters["type"], !types.contains(entry.builtin ? "builtin" : "custom") { return false }
                if let dangling = filters["dangling"]?.first {
                    return (!entry.used && !entry.builtin) == ["true", "1"].contains(dangling.lowercased())
                }
                return true
            }
            return .json(matching.map(\.resource))
        }
        router.add(.GET, "/networks/{id}") { request in
            let reference = request.parameters["id"] ?? ""
            if let pseudo = pseudoNetworks.first(where: { $0.Name == reference || $0.Id == reference }) { return .json(pseudo) }
            let network = try await ContainerRoutes.mapErrors { try await containers.networks.network(reference) }
            return .json(try await shape(network, containers))
        }
        router.add(.DELETE, "/networks/{id}") { request in
            let reference = request.parameters["id"] ?? ""
            if pseudoNetworks.contains(where: { $0.Name == reference || $0.Id == reference }) {
                throw APIError(.forbidden, "\(reference) is a pre-defined network and cannot be removed")
            }
            try await ContainerRoutes.mapErrors { try await containers.networks.removeNetwork(reference) }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/networks/prune") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            for key in filters.keys where key != "label" { throw APIError.badRequest("invalid filter '\(key)'") }
            let removed = try await ContainerRoutes.mapErrors { try await containers.networks.pruneNetworks(labels: filters["label"] ?? []) }
            return .json(NetworkPruneResponse(NetworksDeleted: removed))
        }
        router.add(.POST, "/networks/{id}/connect") { request in
            let body = try decode(NetworkConnectRequest.self, request, what: "connect request")
            let reference = request.parameters["id"] ?? ""
            try await ContainerRoutes.mapErrors { try await containers.connect(body.Container, to: reference, endpoint: body.EndpointConfig) }
            return HTTPResponse(status: .ok)
        }
        router.add(.POST, "/networks/{id}/disconnect") { request in
            let body = try decode(NetworkDisconnectRequest.self, request, what: "disconnect request")
            let reference = request.parameters["id"] ?? ""
            try await ContainerRoutes.mapErrors { try await containers.disconnect(body.Container, from: reference, force: body.Force == true) }
            return HTTPResponse(status: .ok)
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ request: HTTPRequest, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: request.body))
        } catch {
            throw APIError.badRequest("invalid \(what): \(error)")
        }
    }

    /// Network modes Docker lists as networks of their own drivers; nothing is made for them.
    static let pseudoNetworks = [("host", "host"), ("none", "null")].map { name, driver in
        NetworkResource(Name: name, Id: DigestHasher.digest(of: Data("berth network \(name)".utf8)).encoded, Created: ContainerTime.rfc3339(nil),
                        Driver: driver, IPAM: IPAM(Config: []), Internal: false, Attachable: false, Containers: [:], Options: [:], Labels: [:])
    }

    static func shape(_ network: NetworkRecord, _ containers: ContainerService) async throws -> NetworkResource {
        var members: [String: NetworkContainer] = [:]
        for (record, attachment) in try await containers.networks.members(of: network) {
            guard let address = attachment.address else { continue }
            var member = NetworkContainer(Name: record.name, EndpointID: ContainerRoutes.endpointID(record.id, network.id),
                                          MacAddress: attachment.macAddress ?? "",
                                          IPv4Address: "\(address)/\(network.subnet.prefixLength)")
            if let ipv6 = attachment.ipv6Address, let subnet = network.ipv6Subnet { member.IPv6Address = "\(ipv6)/\(subnet.prefixLength)" }
            members[record.id] = member
        }
        var ranges = [IPAMRange(Subnet: network.subnet.description, Gateway: network.gateway.description,
                                IPRange: network.ipRange?.description,
                                AuxiliaryAddresses: network.auxiliaryAddresses?.mapValues(\.description))]
        if let subnet = network.ipv6Subnet {
            ranges.append(IPAMRange(Subnet: subnet.description, Gateway: network.ipv6Gateway?.description))
        }
        var options = network.options
        if network.isDefault { options["com.docker.network.bridge.name"] = network.bridge }
        var resource = NetworkResource(Name: network.name, Id: network.id, Created: ContainerTime.rfc3339(network.created),
                                       Driver: "bridge", IPAM: IPAM(Config: ranges), Internal: network.internal,
                                       Attachable: network.attachable, Containers: members, Options: options, Labels: network.labels)
        resource.EnableIPv6 = network.ipv6Subnet != nil
        return resource
    }
}
