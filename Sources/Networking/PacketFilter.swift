import Foundation

/// One iptables rule: where it goes and what it says, in iptables' own words.
public struct FilterRule: Sendable, Hashable, Codable {
    public var table: String
    public var chain: String
    public var specification: [String]

    public init(_ table: String, _ chain: String, _ specification: [String]) {
        self.table = table
        self.chain = chain
        self.specification = specification
    }
}

/// The host's packet filter through Debian's iptables (nf_tables underneath): Berth's rules live in
/// chains of its own, jumped to from the built-in ones, and are added and deleted in batches
/// (one `iptables-restore --noflush` each), so a change is whole or not at all.
public struct PacketFilter: Sendable {
    public static let forwardChain = "BERTH-FORWARD"
    public static let translationChain = "BERTH-DNAT"
    public static let masqueradeChain = "BERTH-POSTROUTING"

    /// IPv4 (iptables: forwarding, NAT, published ports) or IPv6 (ip6tables: forwarding between
    /// bridges only, since Berth neither translates nor publishes IPv6).
    public enum Family: Sendable { case ipv4, ipv6 }

    let family: Family
    let iptables: String
    let restore: String

    public init(family: Family = .ipv4) {
        self.family = family
        iptables = family == .ipv4 ? "/usr/sbin/iptables" : "/usr/sbin/ip6tables"
        restore = family == .ipv4 ? "/usr/sbin/iptables-restore" : "/usr/sbin/ip6tables-restore"
    }

    /// Berth's chains and the jumps to them (each made only if missing), and IPv4 forwarding on.
    /// IPv6 forwarding is left as the host has it.
    public func prepare() throws {
        var jumps: [(table: String, chain: String, builtin: String, match: [String])] = [
            ("filter", Self.forwardChain, "FORWARD", []),
        ]
        if family == .ipv4 {
            jumps += [
                // Published ports are any local address's, the loopback's included.
                ("nat", Self.translationChain, "PREROUTING", ["-m", "addrtype", "--dst-type", "LOCAL"]),
                ("nat", Self.translationChain, "OUTPUT", ["-m", "addrtype", "--dst-type", "LOCAL"]),
                ("nat", Self.masqueradeChain, "POSTROUTING", []),
            ]
        }
        for jump in jumps {
            if (try? run(iptables, ["-w", "-t", jump.table, "-n", "-L", jump.chain])) == nil {
                try run(iptables, ["-w", "-t", jump.table, "-N", jump.chain])
            }
            let rule = [jump.builtin] + jump.match + ["-j", jump.chain]
            if (try? run(iptables, ["-w", "-t", jump.table, "-C"] + rule)) == nil { try run(iptables, ["-w", "-t", jump.table, "-I"] + rule) }
        }
        if family == .ipv4 { try "1\n".write(toFile: "/proc/sys/net/ipv4/ip_forward", atomically: false, encoding: .utf8) }
    }

    public func add(_ rules: [FilterRule]) throws {
        guard !rules.isEmpty else { return }
        try run(restore, ["-w", "--noflush"], input: Self.batch(rules, verb: "-A"))
    }

    /// Deletes what is there of `rules`; one already gone does not stop the others.
    public func delete(_ rules: [FilterRule]) {
        guard !rules.isEmpty else { return }
        if (try? run(restore, ["-w", "--noflush"], input: Self.batch(rules, verb: "-D"))) != nil { return }
        for rule in rules { _ = try? run(iptables, ["-w", "-t", rule.table, "-D", rule.chain] + rule.specification) }
    }

    /// The rules in iptables-restore's format, grouped by table.
    static func batch(_ rules: [FilterRule], verb: String) -> String {
        var text = ""
        for table in Set(rules.map(\.table)).sorted() {
            text += "*\(table)\n"
            for rule in rules where rule.table == table {
                text += ([verb, rule.chain] + rule.specification.map(quoted)).joined(separator: " ") + "\n"
            }
            text += "COMMIT\n"
        }
        return text
    }

    private static func quoted(_ word: String) -> String {
        word.contains(where: { $0 == " " || $0 == "\"" }) ? "\"" + word.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : word
    }

    @discardableResult
    private func run(_ tool: String, _ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe(), feed = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input == nil ? FileHandle.nullDevice : feed
        do { try process.run() } catch {
            throw PacketFilterError(command: tool, message: "\(error) (install Debian's iptables)")
        }
        if let input {
            feed.fileHandleForWriting.write(Data(input.utf8))
            try? feed.fileHandleForWriting.close()
        }
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PacketFilterError(command: ([tool] + arguments).joined(separator: " "),
                                    message: complaint.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return printed
    }
}

public struct PacketFilterError: Error, CustomStringConvertible {
    public let command: String
    public let message: String
    public var description: String { "\(command): \(message)" }
}
