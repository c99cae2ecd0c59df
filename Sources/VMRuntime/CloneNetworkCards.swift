import CLinux
import Foundation
import Glibc
import SystemSupport

/// Network cards plugged into and out of a running VM that berthd started itself (a clone of a
/// template), through its QEMU's monitor: berthd makes the TAP (QEMU has dropped root and could
/// not), hands QEMU its descriptor, and asks for a virtio-net card on an empty root port. A cold
/// booted VM's cards go through libvirt instead (`LibvirtHypervisor.plug`).
public enum CloneNetworkCards {
    /// Plugs a card for `interface` in; its TAP is then on no bridge yet, and down.
    public static func plug(_ interface: UtilityVMDefinition.Interface, runDirectory: String, ports: Int,
                            timeout: Duration = .seconds(10)) throws {
        let tap = berth_open_tap(interface.device)
        guard tap >= 0 else { throw SystemError.call("making the TAP \(interface.device)", errno) }
        // QEMU keeps its own copy; the TAP goes when QEMU lets go of it.
        defer { close(tap) }
        let monitor = try QMPConnection(socket: runDirectory + "/qmp.sock", deadline: ContinuousClock.now + timeout)
        let names = Names(interface)
        try monitor.execute("getfd", ["fdname": names.descriptor], passing: tap)
        try monitor.execute("netdev_add", ["type": "tap", "id": names.backend, "fd": names.descriptor])
        var refusal = "no root ports"
        for port in 0..<ports {
            do {
                try monitor.execute("device_add", ["driver": "virtio-net-pci", "id": names.card, "netdev": names.backend,
                                                   "mac": interface.macAddress, "bus": UtilityVMDefinition.hotplugPortName(port), "romfile": ""])
                return
            } catch QEMUError.failed(let reason) {
                refusal = reason
            }
        }
        try? monitor.execute("netdev_del", ["id": names.backend])
        throw QEMUError.failed("no empty root port for another network card (the VM has \(ports)): \(refusal)")
    }

    /// Asks the guest to let go of the card and waits until it has (its TAP goes with it).
    public static func unplug(_ interface: UtilityVMDefinition.Interface, runDirectory: String, timeout: Duration = .seconds(20)) throws {
        let monitor = try QMPConnection(socket: runDirectory + "/qmp.sock", deadline: ContinuousClock.now + timeout)
        let names = Names(interface)
        try monitor.execute("device_del", ["id": names.card])
        _ = try monitor.waitForEvent("DEVICE_DELETED") { $0["device"] as? String == names.card }
        try monitor.execute("netdev_del", ["id": names.backend])
    }

    /// QEMU's ids for one plugged card, from its TAP's name (unique on the host).
    struct Names {
        let card: String
        let backend: String
        let descriptor: String

        init(_ interface: UtilityVMDefinition.Interface) {
            card = "nic-" + interface.device
            backend = "net-" + interface.device
            descriptor = "tap-" + interface.device
        }
    }
}
