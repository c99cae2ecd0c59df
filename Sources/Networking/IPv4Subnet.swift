/// An IPv4 network in CIDR form; its address is the network's first (host bits are cleared).
public struct IPv4Subnet: Sendable, Hashable, Codable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefixLength: Int

    public init(_ address: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.prefixLength = prefixLength
        network = IPv4Address(address.value & Self.mask(prefixLength))
    }

    /// "172.18.0.0/16"; nil when malformed or when host bits are set (Docker refuses those too).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parts[0]), let length = Int(parts[1]), (0...32).contains(length),
              address.value & ~Self.mask(length) == 0 else { return nil }
        self.init(address, prefixLength: length)
    }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << (32 - length) }

    public var mask: IPv4Address { IPv4Address(Self.mask(prefixLength)) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~Self.mask(prefixLength)) }
    public var description: String { "\(network)/\(prefixLength)" }

    public func contains(_ address: IPv4Address) -> Bool {
        address.value & Self.mask(prefixLength) == network.value
    }

    public func overlaps(_ other: IPv4Subnet) -> Bool {
        contains(other.network) || other.contains(network)
    }

    /// The `index`th address (1 is the first usable); nil past the last usable one.
    public func host(_ index: UInt32) -> IPv4Address? {
        let size = prefixLength >= 31 ? UInt64(1) << UInt64(32 - prefixLength) : (UInt64(1) << UInt64(32 - prefixLength)) - 1
        guard index > 0, UInt64(index) < size else { return nil }
        return IPv4Address(network.value + index)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let subnet = IPv4Subnet(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 subnet: \(text)"))
        }
        self = subnet
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
