/// One address range of a network's IPAM: `--subnet`, `--gateway`.
public struct IPAMRange: Codable, Sendable, Equatable {
    public var Subnet: String?
    public var Gateway: String?
    public var IPRange: String?
    /// Addresses of the subnet kept from containers: name → address.
    public var AuxiliaryAddresses: [String: String]?

    public init(Subnet: String? = nil, Gateway: String? = nil, IPRange: String? = nil, AuxiliaryAddresses: [String: String]? = nil) {
        self.Subnet = Subnet
        self.Gateway = Gateway
        self.IPRange = IPRange
        self.AuxiliaryAddresses = AuxiliaryAddresses
    }
}

public struct IPAM: Codable, Sendable, Equatable {
    public var Driver: String?
    public var Config: [IPAMRange]?
    public var Options: [String: String]?

    public init(Driver: String? = "default", Config: [IPAMRange]? = nil) {
        self.Driver = Driver
        self.Config = Config
    }
}

/// The body of `POST /networks/create`.
public struct NetworkCreateRequest: Codable, Sendable, Equatable {
    public var Name: String
    public var Driver: String?
    public var Internal: Bool?
    public var Attachable: Bool?
    public var EnableIPv6: Bool?
    public var IPAM: IPAM?
    public var Options: [String: String]?
    public var Labels: [String: String]?

    public init(Name: String, Driver: String? = nil, Internal: Bool? = nil, IPAM: IPAM? = nil, Labels: [String: String]? = nil) {
        self.Name = Name
        self.Driver = Driver
        self.Internal = Internal
        self.IPAM = IPAM
        self.Labels = Labels
    }
}

public struct NetworkCreateResponse: Codable, Sendable, Equatable {
    public var Id: String
    public var Warning: String

    public init(Id: String, Warning: String = "") {
        self.Id = Id
        self.Warning = Warning
    }
}

/// A container as `/networks/{id}` lists it.
public struct NetworkContainer: Codable, Sendable, Equatable {
    public var Name: String
    public var EndpointID: String
    public var MacAddress: String
    public var IPv4Address: String
    public var IPv6Address: String

    public init(Name: String, EndpointID: String, MacAddress: String, IPv4Address: String) {
        self.Name = Name
        self.EndpointID = EndpointID
        self.MacAddress = MacAddress
        self.IPv4Address = IPv4Address
        IPv6Address = ""
    }
}

/// A network as `/networks` shows it.
public struct NetworkResource: Codable, Sendable, Equatable {
    public var Name: String
    public var Id: String
    public var Created: String
    public var Scope: String
    public var Driver: String
    public var EnableIPv6: Bool
    public var IPAM: IPAM
    public var Internal: Bool
    public var Attachable: Bool
    public var Ingress: Bool
    public var Containers: [String: NetworkContainer]
    public var Options: [String: String]
    public var Labels: [String: String]

    public init(Name: String, Id: String, Created: String, Driver: String, IPAM: IPAM, Internal: Bool, Attachable: Bool,
                Containers: [String: NetworkContainer], Options: [String: String], Labels: [String: String]) {
        self.Name = Name
        self.Id = Id
        self.Created = Created
        Scope = "local"
        self.Driver = Driver
        EnableIPv6 = false
        self.IPAM = IPAM
        self.Internal = Internal
        self.Attachable = Attachable
        Ingress = false
        self.Containers = Containers
        self.Options = Options
        self.Labels = Labels
    }
}

public struct EndpointIPAMConfig: Codable, Sendable, Equatable {
    public var IPv4Address: String?
    public var IPv6Address: String?
    /// Further link-local addresses (169.254.0.0/16) for the container's interface.
    public var LinkLocalIPs: [String]?

    public init(IPv4Address: String? = nil, IPv6Address: String? = nil, LinkLocalIPs: [String]? = nil) {
        self.IPv4Address = IPv4Address
        self.IPv6Address = IPv6Address
        self.LinkLocalIPs = LinkLocalIPs
    }
}

/// A container's settings on one network: asked for in create and connect, shown by inspect.
public struct EndpointSettings: Codable, Sendable, Equatable {
    public var IPAMConfig: EndpointIPAMConfig?
    public var Aliases: [String]?
    public var NetworkID: String?
    public var EndpointID: String?
    public var Gateway: String?
    public var IPAddress: String?
    public var IPPrefixLen: Int?
    public var MacAddress: String?
    public var DNSNames: [String]?
    /// Legacy links on this network (`CONTAINER:ALIAS`): the alias resolves to that container, from this one only.
    public var Links: [String]?
    /// Options for the network driver, kept with the endpoint (`--driver-opt`).
    public var DriverOpts: [String: String]?

    public init(IPAMConfig: EndpointIPAMConfig? = nil, Aliases: [String]? = nil) {
        self.IPAMConfig = IPAMConfig
        self.Aliases = Aliases
    }
}

/// `NetworkingConfig` of a container create.
public struct NetworkingConfig: Codable, Sendable, Equatable {
    public var EndpointsConfig: [String: EndpointSettings]?

    public init(EndpointsConfig: [String: EndpointSettings]? = nil) { self.EndpointsConfig = EndpointsConfig }
}

/// The body of `POST /networks/{id}/connect`.
public struct NetworkConnectRequest: Codable, Sendable, Equatable {
    public var Container: String
    public var EndpointConfig: EndpointSettings?

    public init(Container: String, EndpointConfig: EndpointSettings? = nil) {
        self.Container = Container
        self.EndpointConfig = EndpointConfig
    }
}

/// The body of `POST /networks/{id}/disconnect`.
public struct NetworkDisconnectRequest: Codable, Sendable, Equatable {
    public var Container: String
    public var Force: Bool?

    public init(Container: String, Force: Bool? = nil) {
        self.Container = Container
        self.Force = Force
    }
}

public struct NetworkPruneResponse: Codable, Sendable, Equatable {
    public var NetworksDeleted: [String]

    public init(NetworksDeleted: [String]) { self.NetworksDeleted = NetworksDeleted }
}

/// One host binding of a published port (`HostConfig.PortBindings`, `NetworkSettings.Ports`).
public struct PortBinding: Codable, Sendable, Equatable, Hashable {
    public var HostIp: String?
    public var HostPort: String?

    public init(HostIp: String? = nil, HostPort: String? = nil) {
        self.HostIp = HostIp
        self.HostPort = HostPort
    }
}
