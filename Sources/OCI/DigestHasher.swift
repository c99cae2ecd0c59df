import Crypto
import Foundation

/// Computes a sha256 `Digest` over data fed in pieces.
public struct DigestHasher {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    public mutating func update<Bytes: DataProtocol>(_ data: Bytes) {
        hasher.update(data: data)
    }

    public func finalize() -> Digest {
        let hex = hasher.finalize().map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
        }.joined()
        return try! Digest(sha256: hex)
    }

    public static func digest<Bytes: DataProtocol>(of data: Bytes) -> Digest {
        var hasher = DigestHasher()
        hasher.update(data)
        return hasher.finalize()
    }
}
