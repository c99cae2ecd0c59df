import APIModels
import Foundation

/// Docker's legacy links (`--link CONTAINER[:ALIAS]`) on the default network: the linked
/// container's address under the alias in /etc/hosts, and its ports and environment as variables.
extension ContainerService {
    /// What one link gives the container at a start.
    struct LinkedContainer {
        /// `ALIAS_NAME`, `ALIAS_PORT…` and `ALIAS_ENV_…` variables.
        var environment: [String]
        /// /etc/hosts entries, `NAME:ADDRESS`.
        var hosts: [String]
    }

    /// `CONTAINER[:ALIAS]` as dockerd stores it, `/CONTAINER:/SELF/ALIAS`; the container must exist.
    func legacyLinks(_ requested: [String], of name: String) throws -> [String] {
        try requested.map { link in
            let parts = link.split(separator: ":", maxSplits: 1).map { $0.hasPrefix("/") ? String($0.dropFirst()) : String($0) }
            guard let targetName = parts.first, !targetName.isEmpty else { throw ContainerError.invalid("invalid link: \(link)") }
            let alias = parts.count == 2 ? (parts[1].split(separator: "/").last.map(String.init) ?? parts[1]) : targetName
            guard let target = try? find(targetName) else {
                throw ContainerError.invalid("could not get container for \(targetName)")
            }
            return "/\(target.name):/\(name)/\(alias)"
        }
    }

    /// The containers `record` links to, each running with an address on the default network.
    func linkedContainers(_ record: ContainerRecord) throws -> [LinkedContainer] {
        try (record.hostConfig.Links ?? []).map { link in
            let parts = link.split(separator: ":", maxSplits: 1)
            let targetName = parts.first.map { String($0.dropFirst()) } ?? ""
            let alias = parts.count == 2 ? String(parts[1].split(separator: "/").last ?? "") : targetName
            guard let target = try? find(targetName), target.state.status == .running else {
                throw ContainerError.invalid("Cannot link to a non running container: /\(targetName) AS /\(record.name)/\(alias)")
            }
            guard let address = target.attachments.first(where: { $0.networkName == "bridge" })?.address
                ?? target.attachments.first?.address else {
                throw ContainerError.invalid("Cannot link to /\(targetName), as it does not belong to the default network")
            }
            return LinkedContainer(environment: Self.linkVariables(alias: alias, linkName: "/\(record.name)/\(alias)",
                                                               target: target, address: address.description),
                                   hosts: [alias, target.name, String(target.id.prefix(12))].map { "\($0):\(address)" })
        }
    }

    /// Docker's variables for a link: the name, each exposed port (the lowest also as `ALIAS_PORT`),
    /// and the linked container's own variables as `ALIAS_ENV_NAME`.
    static func linkVariables(alias: String, linkName: String, target: ContainerRecord, address: String) -> [String] {
        let prefix = String(alias.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
        var variables = ["\(prefix)_NAME=\(linkName)"]
        let ports = (target.config.ExposedPorts ?? [:]).keys.compactMap { key -> (port: Int, proto: String)? in
            let parts = key.split(separator: "/")
            guard let port = parts.first.flatMap({ Int($0) }) else { return nil }
            return (port, parts.count > 1 ? String(parts[1]) : "tcp")
        }.sorted { ($0.port, $0.proto) < ($1.port, $1.proto) }
        if let first = ports.first { variables.append("\(prefix)_PORT=\(first.proto)://\(address):\(first.port)") }
        for port in ports {
            let key = "\(prefix)_PORT_\(port.port)_\(port.proto.uppercased())"
            variables += ["\(key)=\(port.proto)://\(address):\(port.port)", "\(key)_ADDR=\(address)",
                          "\(key)_PORT=\(port.port)", "\(key)_PROTO=\(port.proto)"]
        }
        for variable in target.config.Env ?? [] {
            let name = variable.split(separator: "=", maxSplits: 1).first.map(String.init) ?? variable
            guard !["HOME", "PATH", "HOSTNAME"].contains(name) else { continue }
            variables.append("\(prefix)_ENV_\(variable)")
        }
        return variables
    }

    /// `DELETE /containers/CONTAINER/ALIAS?link=1`: the container no longer links to ALIAS (from
    /// its next start; its running processes keep what they were given).
    public func removeLink(_ reference: String, alias: String) throws {
        var record = try find(reference)
        let links = record.hostConfig.Links ?? []
        let kept = links.filter { !$0.hasSuffix("/\(alias)") }
        guard kept.count < links.count else { throw ContainerError.notFound("Could not find link \(alias) of container \(record.name)") }
        var request = record.request
        request.hostConfig.Links = kept.isEmpty ? nil : kept
        try catalog.updateRequest(record.id, request)
        record.request = request
    }
}
