/// A container's /etc/hosts as Docker writes it: loopback and the IPv6 well-known names, then the
/// container's own address under its hostname once it has one on a network.
public enum HostsFile {
    public static func text(address: IPv4Address? = nil, hostname: String = "") -> String {
        var text = """
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            ff00::0\tip6-mcastprefix
            ff02::1\tip6-allnodes
            ff02::2\tip6-allrouters

            """
        if let address { text += "\(address)\t\(hostname)\n" }
        return text
    }
}
