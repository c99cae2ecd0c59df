import Foundation

/// The host's IPv4 routes, which new networks must not overlap.
public enum HostRouteTable {
    /// Every route's destination but the default one, from /proc/net/route.
    public static func read(path: String = "/proc/net/route") -> [IPv4Subnet] {
        subnets(procNetRoute: (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    /// /proc/net/route prints each address's network-order bits as a host-order hex number.
    public static func subnets(procNetRoute table: String) -> [IPv4Subnet] {
        table.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16),
                  mask != 0 else { return nil }
            let length = UInt32(bigEndian: mask).nonzeroBitCount
            return IPv4Subnet(IPv4Address(UInt32(bigEndian: destination)), prefixLength: length)
        }
    }
}
