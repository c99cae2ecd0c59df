import NIOCore

/// A stream's name/value header block. Names are lower case on the wire; a name with several
/// values carries them joined by NUL bytes.
public struct SPDYHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// The pairs in order, names lower-cased.
    public private(set) var pairs: [(name: String, value: String)]

    public init(_ pairs: [(String, String)] = []) {
        self.pairs = pairs.map { (name: $0.0.lowercased(), value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// The first value of `name`, whatever its case.
    public subscript(_ name: String) -> String? {
        let wanted = name.lowercased()
        return pairs.first { $0.name == wanted }?.value
    }

    public static func == (lhs: SPDYHeaders, rhs: SPDYHeaders) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs) { $0.name == $1.name && $0.value == $1.value }
    }

    /// The uncompressed block: a count, then each name and value with a 32-bit length.
    func encoded() -> ByteBuffer {
        var grouped: [(name: String, values: [String])] = []
        for pair in pairs {
            if let index = grouped.firstIndex(where: { $0.name == pair.name }) {
                grouped[index].values.append(pair.value)
            } else {
                grouped.append((pair.name, [pair.value]))
            }
        }
        var block = ByteBuffer()
        block.writeInteger(UInt32(grouped.count))
        for (name, values) in grouped {
            let value = values.joined(separator: "\u{0}")
            block.writeInteger(UInt32(name.utf8.count))
            block.writeString(name)
            block.writeInteger(UInt32(value.utf8.count))
            block.writeString(value)
        }
        return block
    }

    /// Parses an uncompressed block; the block must be exactly one header set.
    static func decoding(_ block: ByteBuffer) throws -> SPDYHeaders {
        var block = block
        guard let count = block.readInteger(as: UInt32.self) else { throw SPDYError.malformedHeaderBlock }
        var pairs: [(String, String)] = []
        for _ in 0..<count {
            guard let nameLength = block.readInteger(as: UInt32.self), nameLength > 0,
                  let name = block.readString(length: Int(nameLength)),
                  let valueLength = block.readInteger(as: UInt32.self),
                  let value = block.readString(length: Int(valueLength))
            else { throw SPDYError.malformedHeaderBlock }
            for part in value.split(separator: "\u{0}", omittingEmptySubsequences: false) {
                pairs.append((name, String(part)))
            }
        }
        guard block.readableBytes == 0 else { throw SPDYError.malformedHeaderBlock }
        return SPDYHeaders(pairs)
    }
}
