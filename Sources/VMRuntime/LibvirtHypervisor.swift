import CLibvirt
import Glibc

/// Utility VMs as transient libvirt domains, through libvirt's C API. libvirt connections may be
/// used from any thread.
public final class LibvirtHypervisor: @unchecked Sendable {
    private let connection: virConnectPtr

    public init(uri: String) throws {
        // libvirt prints every error to stderr unless given a handler; errors are thrown instead.
        virSetErrorFunc(nil) { _, _ in }
        guard let connection = virConnectOpen(uri) else {
            throw LibvirtError.failed("connecting to libvirt at \(uri)", Self.lastError())
        }
        self.connection = connection
    }

    deinit { virConnectClose(connection) }

    /// Asks libvirtd something: false once it has gone away (restarted or stopped), which the
    /// connection alone notices only on its next call.
    public var answers: Bool {
        var version: UInt = 0
        return virConnectIsAlive(connection) == 1 && virConnectGetLibVersion(connection, &version) == 0
    }

    /// Boots the VM; it is gone again when the guest powers off, crashes, or `destroy` is called.
    public func create(_ definition: UtilityVMDefinition) throws {
        guard definition.disks.count <= 26 else {
            throw LibvirtError.failed("starting VM \(definition.name)", "\(definition.disks.count) disks; virtio names stop at vdz")
        }
        guard let domain = virDomainCreateXML(connection, definition.domainXML, 0) else {
            throw LibvirtError.failed("starting VM \(definition.name)", Self.lastError())
        }
        virDomainFree(domain)
    }

    public func isRunning(_ name: String) -> Bool {
        guard let domain = virDomainLookupByName(connection, name) else { return false }
        defer { virDomainFree(domain) }
        return virDomainIsActive(domain) == 1
    }

    /// Ends the VM at once (the domain is transient, so nothing of it remains); absent is fine.
    public func destroy(_ name: String) throws {
        guard let domain = virDomainLookupByName(connection, name) else { return }
        defer { virDomainFree(domain) }
        guard virDomainDestroy(domain) == 0 || !isRunning(name) else {
            throw LibvirtError.failed("destroying VM \(name)", Self.lastError())
        }
    }

    /// Plugs a network card into the running domain (libvirt makes its TAP on the bridge and finds
    /// it an empty root port).
    public func plug(_ interface: UtilityVMDefinition.Interface, into name: String) throws {
        guard let domain = virDomainLookupByName(connection, name) else { throw LibvirtError.failed("finding VM \(name)", Self.lastError()) }
        defer { virDomainFree(domain) }
        guard virDomainAttachDeviceFlags(domain, UtilityVMDefinition.interfaceXML(interface), VIR_DOMAIN_AFFECT_LIVE.rawValue) == 0 else {
            throw LibvirtError.failed("plugging a network card into VM \(name)", Self.lastError())
        }
    }

    /// Plugs a read-only disk into the running domain (a layer of a container that joins the VM of
    /// a pod); the guest finds it by `serial`. `target` is libvirt's name for it, unique in the domain.
    public func plugDisk(_ path: String, serial: String, target: String, into name: String) throws {
        guard let domain = virDomainLookupByName(connection, name) else { throw LibvirtError.failed("finding VM \(name)", Self.lastError()) }
        defer { virDomainFree(domain) }
        let xml = UtilityVMDefinition.hotplugDiskXML(path: path, serial: serial, target: target)
        guard virDomainAttachDeviceFlags(domain, xml, VIR_DOMAIN_AFFECT_LIVE.rawValue) == 0 else {
            throw LibvirtError.failed("plugging a disk into VM \(name)", Self.lastError())
        }
    }

    /// Asks the running domain's guest to let go of a network card (found by its MAC address);
    /// libvirt returns once the guest did or after a few seconds, with the removal still pending.
    public func unplug(_ interface: UtilityVMDefinition.Interface, from name: String) throws {
        guard let domain = virDomainLookupByName(connection, name) else { return }
        defer { virDomainFree(domain) }
        guard virDomainDetachDeviceFlags(domain, UtilityVMDefinition.interfaceXML(interface), VIR_DOMAIN_AFFECT_LIVE.rawValue) == 0 else {
            throw LibvirtError.failed("unplugging a network card from VM \(name)", Self.lastError())
        }
    }

    /// The names of the running domains.
    public func names() -> [String] {
        var domains: UnsafeMutablePointer<virDomainPtr?>?
        let count = virConnectListAllDomains(connection, &domains, UInt32(VIR_CONNECT_LIST_DOMAINS_ACTIVE.rawValue))
        guard count > 0, let domains else { return [] }
        defer { free(domains) }
        return (0..<Int(count)).compactMap { index in
            guard let domain = domains[index] else { return nil }
            defer { virDomainFree(domain) }
            return virDomainGetName(domain).map { String(cString: $0) }
        }
    }

    static func lastError() -> String {
        guard let error = virGetLastError(), let message = error.pointee.message else { return "unknown error" }
        return String(cString: message)
    }
}

public enum LibvirtError: Error, CustomStringConvertible, Equatable {
    case failed(String, String)

    public var description: String {
        switch self {
        case .failed(let operation, let reason): return "\(operation): \(reason)"
        }
    }
}
