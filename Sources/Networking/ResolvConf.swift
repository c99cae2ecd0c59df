import Foundation

/// A resolv.conf: its name servers and its other lines (search, options). The host's is read to
/// write each container's.
public struct ResolvConf: Sendable, Equatable {
    public var nameservers: [IPv4Address]
    public var otherLines: [String]

    public init(nameservers: [IPv4Address], otherLines: [String]) {
        self.nameservers = nameservers
        self.otherLines = otherLines
    }

    /// Comments and blank lines dropped; a `nameserver` line that is not IPv4 is skipped.
    public init(parsing text: String) {
        nameservers = []
        otherLines = []
        for line in text.split(separator: "\n").map(String.init) {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if words.first == "nameserver" {
                if words.count > 1, let address = IPv4Address(words[1]) { nameservers.append(address) }
            } else if !line.hasPrefix("#"), !line.isEmpty {
                otherLines.append(line)
            }
        }
    }

    /// Docker's fallback when the host has no resolver a container can reach.
    static let publicNameServers = ["8.8.8.8", "8.8.4.4"].compactMap { IPv4Address($0) }

    public static func host(path: String = "/etc/resolv.conf") -> ResolvConf {
        ResolvConf(parsing: (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    /// What `--dns`, `--dns-search` and `--dns-option` ask for; each replaces that part of the host's file.
    public struct Overrides: Sendable, Equatable {
        public var servers: [String]
        public var searches: [String]
        public var options: [String]

        public init(servers: [String] = [], searches: [String] = [], options: [String] = []) {
            self.servers = servers
            self.searches = searches
            self.options = options
        }
    }

    /// A container's file, as Docker writes it: the network's own name server when it has one running,
    /// else `--dns`'s or the host's resolvers but loopback ones (unreachable from the container), else
    /// public ones; the host's other lines, their `search` and `options` replaced by those asked for;
    /// `ndots:0` on a user network, whose short names are containers.
    public func forContainer(networkNameServer: IPv4Address?, userNetwork: Bool, overrides: Overrides = Overrides()) -> String {
        var servers: [String] = networkNameServer.map { ["\($0)"] }
            ?? (overrides.servers.isEmpty ? nameservers.filter { $0.value >> 24 != 127 }.map { "\($0)" } : overrides.servers)
        if servers.isEmpty { servers = Self.publicNameServers.map { "\($0)" } }
        var others = otherLines
        if !overrides.searches.isEmpty {
            others.removeAll { $0.hasPrefix("search") || $0.hasPrefix("domain") }
            others.append("search " + overrides.searches.joined(separator: " "))
        }
        if !overrides.options.isEmpty {
            others.removeAll { $0.hasPrefix("options") }
            others.append("options " + overrides.options.joined(separator: " "))
        } else if userNetwork {
            others.append("options ndots:0")
        }
        let lines: [String] = servers.map { "nameserver \($0)" } + others
        return lines.map { $0 + "\n" }.joined()
    }
}
