/// The virtual hardware every VM cloned from one template has: the same devices in the same order,
/// so that a clone's QEMU can load the template's saved device state. Only the devices' host ends
/// differ: a clone's disk slots are backed by its container's disks (unused ones by a blank),
/// its network card by its container's TAP, its 9p shares by its container's directories.
public struct VMTemplateLayout: Sendable, Equatable, Codable {
    /// Read-only disk slots for image layers, `vda` onwards.
    public var layerSlots: Int
    /// 9p shares, tagged `berth0` onwards.
    public var shareSlots: Int
    /// Network cards; each keeps its template's MAC address until the agent is told the container's.
    public var interfaceSlots: Int
    /// Empty PCIe root ports, `hotplug0` onwards, for network cards plugged in while the VM runs.
    public var hotplugPorts: Int
    public init(layerSlots: Int = 12, shareSlots: Int = 4, interfaceSlots: Int = 1,
                hotplugPorts: Int = UtilityVMDefinition.hotplugPorts) {
        self.layerSlots = layerSlots
        self.shareSlots = shareSlots
        self.interfaceSlots = interfaceSlots
        self.hotplugPorts = hotplugPorts
    }

    /// How large a blank disk slot is (a sparse file): the guest keeps the size it read when the
    /// template probed the slot, so every disk a clone puts there must fit inside it; a filesystem
    /// never reaches past its own end.
    public static let blankDiskBytes: Int64 = 1 << 40

    /// The writable disk follows the layer slots.
    public var writableSlot: Int { layerSlots }

    /// Whether a VM fits: its layers, shares and networks within the slots, one writable disk last.
    public func fits(_ definition: UtilityVMDefinition) -> Bool {
        guard let writable = definition.disks.last, !writable.readOnly else { return false }
        let layers = definition.disks.dropLast()
        return layers.count <= layerSlots && layers.allSatisfy(\.readOnly) && definition.shares.count <= shareSlots
            && definition.interfaces.count <= interfaceSlots
            && definition.shares.enumerated().allSatisfy { $0.element.tag == "berth\($0.offset)" }
    }

    /// The MAC address a template gives network card `slot`: locally administered, and never one
    /// Berth hands a container (those start 02:42).
    public static func templateMAC(_ slot: Int) -> String {
        "02:b7:00:00:00:" + String(format2(slot))
    }

    private static func format2(_ value: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[(value >> 4) & 15], digits[value & 15]])
    }
}
