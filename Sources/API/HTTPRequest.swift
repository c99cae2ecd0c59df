import APIModels
import NIOCore
import NIOHTTP1

/// A request as routes see it: the version prefix stripped, the query decoded, the body collected.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The path without `/v1.NN`, e.g. `/info`.
    public var path: String
    public var query: [String: [String]]
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// For routes that spool their body: the file holding it, removed after the response.
    public var bodyFile: String?
    /// The version the client asked for in the path, or the current one.
    public var apiVersion: APIVersion
    /// Values bound by `{name}` segments of the matched route.
    public var parameters: [String: String] = [:]

    public func queryValue(_ name: String) -> String? {
        query[name]?.first
    }

    /// Docker's boolean query values: `1`, `true`, `True` are true.
    public func queryFlag(_ name: String) -> Bool {
        guard let value = queryValue(name) else { return false }
        return ["1", "true", "yes"].contains(value.lowercased())
    }
}

extension HTTPRequest {
    /// Splits `path?query` and decodes percent-escapes and `+` in the query.
    static func split(uri: String) -> (path: String, query: [String: [String]]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = percentDecoded(String(parts[0]), plusAsSpace: false) ?? String(parts[0])
        var query: [String: [String]] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") where !pair.isEmpty {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = percentDecoded(String(keyValue[0]), plusAsSpace: true) ?? String(keyValue[0])
                let value = keyValue.count == 2 ? (percentDecoded(String(keyValue[1]), plusAsSpace: true) ?? "") : ""
                query[key, default: []].append(value)
            }
        }
        return (path, query)
    }

    static func percentDecoded(_ text: String, plusAsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusAsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
