/// A container's /etc/hosts as Docker writes it: loopback and the IPv6 well-known names, the
/// `--add-host` entries, then the container's own address under its hostname once it has one on a
/// network.
public enum HostsFile {
    /// `extraHosts`: `name:address` or `name=address` (`--add-host`); `host-gateway` as the address
    /// is `gateway`, and left out without one.
    public static func text(address: IPv4Address? = nil, hostname: String = "", extraHosts: [String] = [],
                            gateway: IPv4Address? = nil) -> String {
        var text = """
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            ff00::0\tip6-mcastprefix
            ff02::1\tip6-allnodes
            ff02::2\tip6-allrouters

            """
        for entry in extraHosts {
            guard let separator = entry.firstIndex(where: { $0 == ":" || $0 == "=" }) else { continue }
            let name = entry[..<separator]
            var target = String(entry[entry.index(after: separator)...])
            if target == "host-gateway" {
                guard let gateway else { continue }
                target = gateway.description
            }
            // IPv6 addresses may come bracketed (`name=[::1]`).
            if target.hasPrefix("["), target.hasSuffix("]") { target = String(target.dropFirst().dropLast()) }
            text += "\(target)\t\(name)\n"
        }
        if let address { text += "\(address)\t\(hostname)\n" }
        return text
    }
}
