import Foundation

/// QEMU's command line for a utility VM that berthd runs itself, without libvirt: a template VM
/// being booted and saved, or a clone of one. Template and clones get the same devices in the same
/// order (`VMTemplateLayout`); a clone differs only in how its RAM is mapped, in the host ends of
/// its devices, and in waiting for the template's state instead of booting.
public struct QEMUCommandLine: Sendable {
    public enum Role: Sendable, Equatable {
        /// Boots the kernel with its RAM shared with the template's memory file, so that the RAM is
        /// the file once saved.
        case template
        /// Maps the template's memory file private (copy-on-write) and waits for its device state over QMP.
        case clone
    }

    public var definition: UtilityVMDefinition
    public var layout: VMTemplateLayout
    public var role: Role
    public var files: VMTemplateFiles
    /// Where QEMU keeps its pid, its QMP socket and its error output: the VM's directory.
    public var runDirectory: String
    /// The unprivileged user QEMU drops to once it has opened everything, as libvirt runs it;
    /// nil keeps root, which 9p passthrough needs to keep the shared files' owners.
    public var user: String?

    public init(definition: UtilityVMDefinition, layout: VMTemplateLayout, role: Role, files: VMTemplateFiles, runDirectory: String,
                user: String?) {
        self.definition = definition
        self.layout = layout
        self.role = role
        self.files = files
        self.runDirectory = runDirectory
        self.user = user
    }

    public var pidFile: String { runDirectory + "/qemu.pid" }
    public var monitorSocket: String { runDirectory + "/qmp.sock" }

    public var arguments: [String] {
        let machine = definition.machine
        var arguments = [machine.emulator, "-machine", machine.machineType]
        switch definition.accelerator {
        case .tcg: arguments += ["-accel", "tcg,tb-size=\(definition.translationCacheMiB)"]
        case .kvm: arguments += ["-accel", "kvm"]
        }
        if definition.accelerator == .tcg, let model = machine.tcgCPUModel { arguments += ["-cpu", model] }
        if let firmware = definition.firmware { arguments += ["-bios", firmware] }
        arguments += [
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-m", "\(definition.memoryMiB)", "-smp", "\(definition.vcpus)",
            "-object", "memory-backend-file,id=ram,size=\(definition.memoryMiB)M,mem-path=\(Self.option(files.memory)),share=\(role == .template ? "on" : "off")",
            "-machine", "memory-backend=ram",
        ]
        // A clone's kernel is in its RAM already: QEMU need not hold another copy to hand the firmware.
        if role == .template { arguments += ["-kernel", definition.kernel, "-initrd", definition.initramfs, "-append", definition.commandLine] }
        arguments += [
            "-serial", "file:" + definition.consoleLog,
            "-device", "virtio-serial-pci,id=agentserial",
            "-chardev", "socket,id=agent,path=\(Self.option(definition.agentSocket)),server=on,wait=off",
            "-device", "virtserialport,bus=agentserial.0,chardev=agent,name=berth.agent",
        ]
        arguments += diskArguments + interfaceArguments + shareArguments + hotplugArguments
        arguments += [
            "-qmp", "unix:\(Self.option(monitorSocket)),server=on,wait=off",
            "-pidfile", pidFile, "-daemonize",
            // No new processes but migration's `exec:` reader, no obsolete system calls, no priority changes.
            "-sandbox", "on,obsolete=deny,resourcecontrol=deny",
        ]
        if let user { arguments += ["-runas", user] }
        if role == .clone { arguments += ["-incoming", "defer"] }
        return arguments
    }

    /// Layer slots first, then the writable disk, each a virtio-blk device in that order: the
    /// guest names them vda, vdb, … as it probed them in the template.
    private var diskArguments: [String] {
        let layers = role == .clone ? definition.disks.dropLast().map(\.path) : []
        var backing: [(path: String, readOnly: Bool)] = (0..<layout.layerSlots).map { slot in
            (slot < layers.count ? layers[slot] : files.blankLayer, true)
        }
        backing.append((role == .clone ? definition.disks.last?.path ?? files.blankWritable : files.blankWritable, false))
        return backing.enumerated().flatMap { slot, disk in
            let readOnly = disk.readOnly ? "on" : "off"
            return ["-blockdev", "driver=file,node-name=file\(slot),filename=\(Self.option(disk.path)),read-only=\(readOnly)",
                    "-blockdev", "driver=raw,node-name=disk\(slot),file=file\(slot),read-only=\(readOnly)",
                    "-device", "virtio-blk-pci,drive=disk\(slot),id=slot\(slot)"]
        }
    }

    /// Each card keeps its template's MAC address (the guest read it then); a clone's card is the
    /// container's TAP, which berthd puts on the network's bridge.
    private var interfaceArguments: [String] {
        (0..<layout.interfaceSlots).flatMap { slot -> [String] in
            let card = "virtio-net-pci,id=nic\(slot),mac=\(VMTemplateLayout.templateMAC(slot)),romfile="
            guard role == .clone, slot < definition.interfaces.count else { return ["-device", card] }
            let tap = definition.interfaces[slot].device
            return ["-netdev", "tap,id=net\(slot),ifname=\(Self.option(tap)),script=no,downscript=no",
                    "-device", card + ",netdev=net\(slot)"]
        }
    }

    private var shareArguments: [String] {
        (0..<layout.shareSlots).flatMap { slot -> [String] in
            let share = role == .clone && slot < definition.shares.count ? definition.shares[slot] : nil
            let path = share?.path ?? files.emptyShare, readOnly = share?.readOnly ?? true
            return ["-fsdev", "local,id=share\(slot),path=\(Self.option(path)),security_model=passthrough" + (readOnly ? ",readonly=on" : ""),
                    "-device", "virtio-9p-pci,fsdev=share\(slot),mount_tag=berth\(slot)"]
        }
    }

    /// Empty root ports, where `network connect` plugs a card in while the VM runs.
    private var hotplugArguments: [String] {
        (0..<layout.hotplugPorts).flatMap { port in
            ["-device", "pcie-root-port,id=\(UtilityVMDefinition.hotplugPortName(port)),bus=pcie.0,chassis=\(port + 1)"]
        }
    }

    /// A value inside QEMU's comma-separated options: a comma is written twice.
    static func option(_ value: String) -> String {
        value.replacingOccurrences(of: ",", with: ",,")
    }
}
