import APIClient
import APIModels
import ArgumentParser
import Foundation

struct NetworkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network", abstract: "Manage networks.",
        subcommands: [NetworkCreateCommand.self, NetworkListCommand.self, NetworkInspectCommand.self, NetworkRemoveCommand.self,
                      NetworkPruneCommand.self, NetworkConnectCommand.self, NetworkDisconnectCommand.self])
}

struct NetworkCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a bridge network.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "The network driver (only bridge).")
    var driver = "bridge"

    @Option(help: "A subnet in CIDR form, e.g. 172.30.0.0/16 (default: a free one); an IPv6 one too with --ipv6. Repeatable.")
    var subnet: [String] = []

    @Option(help: "The gateway's address in the subnet of the same position (default: its first). Repeatable.")
    var gateway: [String] = []

    @Flag(help: "Give containers IPv6 addresses too (from the IPv6 --subnet, or a unique local /64).")
    var ipv6 = false

    @Option(name: .customLong("ip-range"), help: "Where containers' addresses come from, a network inside the subnet.")
    var ipRange: String?

    @Option(name: .customLong("aux-address"), help: "An address containers never get, NAME=ADDRESS (repeatable).")
    var auxAddress: [String] = []

    @Flag(help: "No traffic beyond the network: no NAT, no published ports.")
    var `internal` = false

    @Flag(help: "Accepted for Docker's sake: containers may always join.")
    var attachable = false

    @Option(help: "A label, key=value (repeatable).")
    var label: [String] = []

    @Argument(help: "The network's name.")
    var name: String

    func run() async throws {
        let labels = KeyValueArguments.labels(label)
        let auxiliary = try Dictionary(auxAddress.map { text -> (String, String) in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("invalid auxiliary address \(text): NAME=ADDRESS") }
            return (parts[0], parts[1])
        }, uniquingKeysWith: { $1 })
        guard !subnet.isEmpty || (ipRange == nil && auxiliary.isEmpty) else { throw ValidationError("--ip-range and --aux-address need --subnet") }
        guard gateway.count <= subnet.count else { throw ValidationError("every --gateway needs a --subnet") }
        let ranges = subnet.enumerated().map { index, text in
            let isIPv4 = !text.contains(":")
            return IPAMRange(Subnet: text, Gateway: index < gateway.count ? gateway[index] : nil, IPRange: isIPv4 ? ipRange : nil,
                             AuxiliaryAddresses: isIPv4 && !auxiliary.isEmpty ? auxiliary : nil)
        }
        var request = NetworkCreateRequest(Name: name, Driver: driver, Internal: `internal`,
                                           IPAM: IPAM(Config: ranges), Labels: labels.isEmpty ? nil : labels)
        request.EnableIPv6 = ipv6 ? true : nil
        request.Attachable = attachable
        let created = try await connection.withClient { try await $0.createNetwork(request) }
        print(created.Id)
    }
}

struct NetworkListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks.", aliases: ["list"])

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Only IDs.")
    var quiet = false

    @Flag(name: .customLong("no-trunc"), help: "Full IDs.")
    var noTrunc = false

    @Option(name: [.short, .long], help: "Filter: name=, id=, label=, driver=, type=custom|builtin, dangling=true (repeatable).")
    var filter: [String] = []

    func run() async throws {
        let filters = try KeyValueArguments.filters(filter)
        let networks = try await connection.withClient { try await $0.networks(filters: filters) }.sorted { $0.Name < $1.Name }
        let id = { (network: NetworkResource) in noTrunc ? network.Id : String(network.Id.prefix(12)) }
        if quiet {
            for network in networks { print(id(network)) }
            return
        }
        let rows = networks.map { [id($0), $0.Name, $0.Driver, $0.Scope] }
        for line in InfoTable.table(header: ["NETWORK ID", "NAME", "DRIVER", "SCOPE"], rows: rows) { print(line) }
    }
}

struct NetworkInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show networks' details as JSON.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "A Go template applied to each, e.g. '{{.IPAM}}'.")
    var format: String?

    @Argument(help: "Networks, by name or ID.")
    var networks: [String]

    func run() async throws {
        let template = try format.map(OutputTemplate.init)
        let details = try await connection.withClient { client in
            var all: [JSONValue] = []
            for network in networks { all.append(try await client.inspectNetworkRaw(network)) }
            return all
        }
        try Output.inspect(details, template: template)
    }
}

struct NetworkRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove networks no running container uses.",
                                                    aliases: ["remove"])

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Networks, by name or ID.")
    var networks: [String]

    func run() async throws {
        try await forEach(networks, connection: connection) { client, name in try await client.removeNetwork(name) }
    }
}

struct NetworkPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove networks no container is attached to.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Only networks with this label, key or key=value (repeatable).")
    var filter: [String] = []

    func run() async throws {
        let filters = try KeyValueArguments.filters(filter)
        let report = try await connection.withClient { try await $0.pruneNetworks(filters: filters) }
        if !report.NetworksDeleted.isEmpty { print("Deleted Networks:") }
        for name in report.NetworksDeleted { print(name) }
    }
}

struct NetworkConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "connect", abstract: "Attach a container to a network.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Another name the container answers to on the network. Repeatable.")
    var alias: [String] = []

    @Option(help: "The container's IPv4 address on the network.")
    var ip: String?

    @Argument(help: "The network.")
    var network: String

    @Argument(help: "The container.")
    var container: String

    func run() async throws {
        let endpoint = EndpointSettings(IPAMConfig: ip.map { EndpointIPAMConfig(IPv4Address: $0) }, Aliases: alias.isEmpty ? nil : alias)
        try await connection.withClient { try await $0.connect(container, to: network, endpoint: endpoint) }
    }
}

struct NetworkDisconnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disconnect", abstract: "Detach a container from a network.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: [.short, .long], help: "Accepted for Docker's sake.")
    var force = false

    @Argument(help: "The network.")
    var network: String

    @Argument(help: "The container.")
    var container: String

    func run() async throws {
        try await connection.withClient { try await $0.disconnect(container, from: network, force: force) }
    }
}

struct PortCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port", abstract: "List a container's published ports.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The container.")
    var container: String

    @Argument(help: "Only this port, port[/tcp|udp].")
    var port: String?

    func run() async throws {
        let details = try await connection.withClient { try await $0.inspectContainerRaw(container) }
        guard case .object(let root) = details, case .object(let settings)? = root["NetworkSettings"],
              case .object(let ports)? = settings["Ports"] else { return }
        let wanted = port.map { $0.contains("/") ? $0 : $0 + "/tcp" }
        var found = false
        for key in ports.keys.sorted() where wanted == nil || key == wanted {
            guard case .array(let bindings)? = ports[key] else { continue }
            for case .object(let binding) in bindings {
                guard case .string(let ip)? = binding["HostIp"], case .string(let hostPort)? = binding["HostPort"] else { continue }
                print(wanted == nil ? "\(key) -> \(ip):\(hostPort)" : "\(ip):\(hostPort)")
                found = true
            }
        }
        if let port, !found { throw ValidationError("No public port '\(port)' published for \(container)") }
    }
}
