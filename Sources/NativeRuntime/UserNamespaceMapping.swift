/// The ids a container with its own user namespace (`--userns=auto`) runs as on the host: its
/// root and every id up to 65535 shifted into a block of the host's ids that no other container
/// and no ordinary user holds.
public struct UserNamespaceMapping: Codable, Sendable, Equatable {
    /// Ids per container: every id an image may use (nobody is 65534).
    public static let size: UInt32 = 65536
    /// Blocks start at 2^30, far above the ids that /etc/subuid hands to users (100000 and up).
    public static let poolStart: UInt32 = 1 << 30
    public static let poolBlocks: UInt32 = 4096

    /// The host id of the container's root; container id n is host id `hostBase + n`.
    public let hostBase: UInt32

    public init(hostBase: UInt32) {
        self.hostBase = hostBase
    }

    /// The lowest block that none of `used` occupies, or nil when the pool is exhausted.
    public static func firstFree(excluding used: [UserNamespaceMapping]) -> UserNamespaceMapping? {
        let taken = Set(used.map(\.hostBase))
        for block in 0..<poolBlocks {
            let base = poolStart + block * size
            if !taken.contains(base) { return UserNamespaceMapping(hostBase: base) }
        }
        return nil
    }

    /// The line written to both uid_map and gid_map.
    public var idMap: String { "0 \(hostBase) \(Self.size)\n" }
}
