/// The little of DNS (RFC 1035) a network's name server needs: the question of a query, and an
/// answer built from it.
public struct DNSQuery: Sendable, Equatable {
    public static let typeA: UInt16 = 1
    public static let typeAAAA: UInt16 = 28
    public static let classInternet: UInt16 = 1

    public var id: UInt16
    public var recursionDesired: Bool
    /// Lowercased, without the trailing dot.
    public var name: String
    public var type: UInt16
    public var questionClass: UInt16
    /// The header and the question, as received: an answer repeats them.
    let questionBytes: [UInt8]

    /// nil for what is not a standard query with exactly one question.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= 12, bytes[2] & 0x80 == 0, bytes[2] & 0x78 == 0, bytes[4] == 0, bytes[5] == 1 else { return nil }
        id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        recursionDesired = bytes[2] & 0x01 != 0
        var offset = 12
        var labels: [String] = []
        while true {
            guard offset < bytes.count else { return nil }
            let length = Int(bytes[offset])
            offset += 1
            if length == 0 { break }
            // Compression pointers never appear in a question.
            guard length < 64, offset + length <= bytes.count else { return nil }
            labels.append(String(decoding: bytes[offset..<offset + length], as: UTF8.self).lowercased())
            offset += length
        }
        guard offset + 4 <= bytes.count else { return nil }
        name = labels.joined(separator: ".")
        type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        questionClass = UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3])
        questionBytes = Array(bytes[0..<offset + 4])
    }

    /// An authoritative answer: `addresses` as A records, `ipv6` as AAAA records (none for other
    /// types: "no such data"), or `code` (3, "no such name"; 2, "server failure") with no records.
    public func answer(_ addresses: [IPv4Address], ipv6: [IPv6Address] = [], code: UInt8 = 0, ttl: UInt32 = 600) -> [UInt8] {
        var reply = questionBytes
        let answers = code == 0 && questionClass == Self.classInternet
        let records: [(type: UInt8, bytes: [UInt8])] = !answers ? []
            : type == Self.typeA ? addresses.map { (UInt8(Self.typeA), $0.octets) }
            : type == Self.typeAAAA ? ipv6.map { (UInt8(Self.typeAAAA), $0.octets) } : []
        reply[2] = 0x80 | 0x04 | (recursionDesired ? 0x01 : 0)
        reply[3] = 0x80 | (code & 0x0f)
        reply[6] = UInt8(records.count >> 8)
        reply[7] = UInt8(records.count & 0xff)
        for index in 8..<12 { reply[index] = 0 }
        for record in records {
            // The name is the question's, at offset 12.
            reply += [0xc0, 0x0c, 0, record.type, 0, 1]
            reply += [UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xff), UInt8(ttl >> 8 & 0xff), UInt8(ttl & 0xff), 0, UInt8(record.bytes.count)]
            reply += record.bytes
        }
        return reply
    }
}
