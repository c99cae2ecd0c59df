/// Where berthd listens: `unix:///path/to/sock` (the default) or `tcp://host:port`.
public enum DaemonAddress: Equatable, Sendable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    public static let defaultSocket = "/run/berth/berth.sock"

    /// Accepts Docker's `-H` forms: `unix:///p`, `unix:/p`, a bare absolute path, `tcp://h:p`.
    public init(parsing text: String) throws {
        if text.hasPrefix("unix://") {
            self = .unix(path: String(text.dropFirst("unix://".count)))
        } else if text.hasPrefix("unix:") {
            self = .unix(path: String(text.dropFirst("unix:".count)))
        } else if text.hasPrefix("/") {
            self = .unix(path: text)
        } else if text.hasPrefix("tcp://") {
            let rest = text.dropFirst("tcp://".count).split(separator: "/").first.map(String.init) ?? ""
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                  (1...65535).contains(port), colon != rest.startIndex
            else { throw AddressError.malformed(text) }
            self = .tcp(host: String(rest[..<colon]), port: port)
        } else {
            throw AddressError.malformed(text)
        }
        if case .unix(let path) = self, path.isEmpty { throw AddressError.malformed(text) }
    }

    /// `-H`, else `BERTH_HOST`, else the default socket.
    public static func resolve(flag: String?, environment: [String: String]) throws -> DaemonAddress {
        if let flag { return try DaemonAddress(parsing: flag) }
        if let value = environment["BERTH_HOST"], !value.isEmpty { return try DaemonAddress(parsing: value) }
        return .unix(path: defaultSocket)
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix://\(path)"
        case .tcp(let host, let port): return "tcp://\(host):\(port)"
        }
    }
}

public enum AddressError: Error, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let text):
            return "invalid daemon address \"\(text)\": use unix:///path/to/berth.sock or tcp://host:port"
        }
    }
}
