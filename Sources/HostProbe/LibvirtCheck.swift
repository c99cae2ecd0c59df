import CLibvirt
import HostModel

/// Asks libvirtd, through libvirt's C API, whether it answers at a URI.
public enum LibvirtCheck {
    public static func check(uri: String) -> LibvirtReport {
        // libvirt prints every error to stderr unless given a handler; we report errors ourselves.
        virSetErrorFunc(nil) { _, _ in }
        guard let connection = virConnectOpenReadOnly(uri) else {
            return LibvirtReport(uri: uri, reachable: false, version: nil, error: lastError() ?? "connection refused")
        }
        defer { virConnectClose(connection) }
        var version: UInt = 0
        guard virConnectGetLibVersion(connection, &version) == 0 else {
            return LibvirtReport(uri: uri, reachable: false, version: nil, error: lastError() ?? "no version")
        }
        let text = "\(version / 1_000_000).\(version / 1000 % 1000).\(version % 1000)"
        return LibvirtReport(uri: uri, reachable: true, version: text, error: nil)
    }

    private static func lastError() -> String? {
        guard let error = virGetLastError(), let message = error.pointee.message else { return nil }
        return String(cString: message)
    }
}
