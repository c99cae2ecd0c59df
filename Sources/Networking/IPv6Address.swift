import Glibc

/// An IPv6 address as its 128 bits (two halves, host order), parsed and written as `inet_pton`
/// and `inet_ntop` do (`2001:db8::1`).
public struct IPv6Address: Sendable, Hashable, Codable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init?(_ text: some StringProtocol) {
        var raw = in6_addr()
        guard String(text).withCString({ inet_pton(AF_INET6, $0, &raw) }) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: raw) { Array($0) }
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    public var octets: [UInt8] {
        (0..<8).reversed().map { UInt8(truncatingIfNeeded: high >> (8 * UInt64($0))) }
            + (0..<8).reversed().map { UInt8(truncatingIfNeeded: low >> (8 * UInt64($0))) }
    }

    public var description: String {
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: octets) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)).map { String(cString: $0) } ?? ""
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv6Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv6 address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An IPv6 network: an address with its host bits clear, and a prefix length (at most /120 for a
/// bridge network, so it has room for a gateway and containers).
public struct IPv6Subnet: Sendable, Hashable, Codable, CustomStringConvertible {
    public var network: IPv6Address
    public var prefixLength: Int

    /// `2001:db8::/64` form, host bits clear; nil otherwise.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = IPv6Address(parts[0]), let length = Int(parts[1]), (1...128).contains(length) else { return nil }
        network = address
        prefixLength = length
        guard Self.masked(address, length) == address else { return nil }
    }

    /// A /64 of the unique local range (fd00::/8) with a 40-bit global ID from `seed`, as RFC 4193 makes them.
    public static func uniqueLocal(seed: UInt64) -> IPv6Subnet {
        var subnet = IPv6Subnet(uncheckedNetwork: IPv6Address(high: 0xfd00_0000_0000_0000 | (seed & 0xff_ffff_ffff) << 16, low: 0),
                                prefixLength: 64)
        subnet.network = Self.masked(subnet.network, 64)
        return subnet
    }

    private init(uncheckedNetwork: IPv6Address, prefixLength: Int) {
        network = uncheckedNetwork
        self.prefixLength = prefixLength
    }

    public func contains(_ address: IPv6Address) -> Bool { Self.masked(address, prefixLength) == network }

    public func overlaps(_ other: IPv6Subnet) -> Bool { contains(other.network) || other.contains(network) }

    /// The `index`th address of the network (1 is its first after the network's own), nil past its end.
    public func host(_ index: UInt64) -> IPv6Address? {
        let hostBits = 128 - prefixLength
        if hostBits < 64, index >> UInt64(hostBits) != 0 { return nil }
        let (low, overflow) = network.low.addingReportingOverflow(index)
        return IPv6Address(high: network.high &+ (overflow ? 1 : 0), low: low)
    }

    static func masked(_ address: IPv6Address, _ length: Int) -> IPv6Address {
        let highMask: UInt64 = length >= 64 ? .max : (length == 0 ? 0 : ~(UInt64.max >> UInt64(length)))
        let lowMask: UInt64 = length <= 64 ? 0 : (length >= 128 ? .max : ~(UInt64.max >> UInt64(length - 64)))
        return IPv6Address(high: address.high & highMask, low: address.low & lowMask)
    }

    public var description: String { "\(network)/\(prefixLength)" }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let subnet = IPv6Subnet(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv6 subnet: \(text)"))
        }
        self = subnet
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
