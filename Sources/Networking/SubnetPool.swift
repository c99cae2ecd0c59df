/// Where networks without a `--subnet` get theirs, as Docker's default pools: a /16 of 172.17–31,
/// then a /20 of 192.168.
public enum SubnetPool {
    public static let candidates: [IPv4Subnet] =
        (17...31).map { IPv4Subnet(IPv4Address(172 << 24 | UInt32($0) << 16), prefixLength: 16) }
        + stride(from: 0, to: 256, by: 16).map { IPv4Subnet(IPv4Address(192 << 24 | 168 << 16 | UInt32($0) << 8), prefixLength: 20) }

    /// The first candidate that overlaps none of `taken` (other networks, the host's routes).
    public static func firstFree(avoiding taken: [IPv4Subnet]) -> IPv4Subnet? {
        candidates.first { candidate in !taken.contains { $0.overlaps(candidate) } }
    }
}
