// Shared by berthd and the guest agent, which compiles this file with Embedded Swift: only the
// standard library's core may be used here.

/// One message on the agent port (see vm-images/PROTOCOL.md): kind, process number, payload.
public struct AgentFrame: Equatable, Sendable {
    public var kind: UInt8
    public var process: UInt32
    public var payload: [UInt8]

    public static let maximumPayload = 1 << 20

    public init(kind: UInt8, process: UInt32, payload: [UInt8]) {
        self.kind = kind
        self.process = process
        self.payload = payload
    }

    public func encoded() -> [UInt8] {
        let length = UInt32(payload.count + 5)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payload.count + 9)
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
        bytes.append(kind)
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: process >> UInt32(shift))) }
        bytes.append(contentsOf: payload)
        return bytes
    }
}

/// Cuts the incoming byte stream into frames.
public struct AgentFrameReader: Sendable {
    private var buffer: [UInt8] = []

    public init() {}

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, or nil until more bytes arrive. A length beyond the limit means the
    /// stream is not ours: everything buffered is dropped.
    public mutating func next() -> AgentFrame? {
        while buffer.count >= 4 {
            let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
            guard length >= 5, length <= AgentFrame.maximumPayload + 5 else {
                buffer.removeAll()
                return nil
            }
            guard buffer.count >= 4 + length else { return nil }
            let process = UInt32(buffer[5]) << 24 | UInt32(buffer[6]) << 16 | UInt32(buffer[7]) << 8 | UInt32(buffer[8])
            let frame = AgentFrame(kind: buffer[4], process: process, payload: Array(buffer[9..<(4 + length)]))
            buffer.removeFirst(4 + length)
            return frame
        }
        return nil
    }
}

/// NUL-terminated tokens: each key followed by its value.
public struct AgentTokens: Sendable {
    public let items: [[UInt8]]

    public init(_ payload: [UInt8]) {
        var items: [[UInt8]] = []
        var current: [UInt8] = []
        for byte in payload {
            if byte == 0 {
                items.append(current)
                current = []
            } else {
                current.append(byte)
            }
        }
        self.items = items
    }

    /// Every value following `key`.
    public func values(_ key: StaticString) -> [[UInt8]] {
        let name = Array(UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        var found: [[UInt8]] = []
        var index = 0
        while index + 1 < items.count {
            if items[index] == name { found.append(items[index + 1]) }
            index += 2
        }
        return found
    }

    public func value(_ key: StaticString) -> [UInt8]? { values(key).first }

    public static func encode(_ pairs: [([UInt8], [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (key, value) in pairs {
            bytes.append(contentsOf: key)
            bytes.append(0)
            bytes.append(contentsOf: value)
            bytes.append(0)
        }
        return bytes
    }
}
