/// What one utility VM is: a transient libvirt domain booting the guest kernel directly, with the
/// agent's initramfs, a serial console captured to a file, and the agent's virtio-serial port.
public struct UtilityVMDefinition: Sendable, Equatable {
    public enum Accelerator: String, Sendable { case kvm, tcg }

    public var name: String
    public var machine: GuestMachine = .x86_64
    public var accelerator: Accelerator = .tcg
    /// Backed by a private memfd mapping rather than plain anonymous memory: QEMU asks for transparent
    /// huge pages on anonymous guest RAM, so each page the guest touches would cost the host 2 MiB
    /// (~6 MiB more per VM measured here). A shared memfd saves as much but starts ~170 ms slower.
    public var memoryMiB = 256
    /// TCG's translated-code cache: QEMU's default grows to 30 MiB resident in a boot; 12 MiB boots
    /// as fast (8 MiB is 60–80 ms slower), and each VM's host memory is what a utility VM costs.
    public var translationCacheMiB = 12
    public var vcpus = 1
    /// The firmware QEMU starts in, when not its default SeaBIOS: QEMU's qboot hands over to a
    /// directly booted kernel ~80 ms sooner on TCG.
    public var firmware: String?
    /// Where Debian's qemu-system-data puts qboot.
    public static let qboot = "/usr/share/qemu/qboot.rom"
    public var kernel: String
    public var initramfs: String
    /// What the guest kernel is told.
    public var commandLine: String {
        accelerator == .tcg && !machine.tcgKernelArguments.isEmpty
            ? machine.kernelArguments + " " + machine.tcgKernelArguments : machine.kernelArguments
    }
    /// Where the guest's serial console goes, for diagnostics when it fails.
    public var consoleLog: String
    /// The unix socket QEMU binds for the agent's port.
    public var agentSocket: String
    /// Raw disk images in the order the guest sees them: /dev/vda, /dev/vdb, …
    public var disks: [Disk] = []

    /// Host directories shared into the guest over virtio-9p, each mounted by its tag.
    public var shares: [Share] = []

    public struct Share: Sendable, Equatable {
        public var path: String
        public var tag: String
        public var readOnly: Bool

        public init(path: String, tag: String, readOnly: Bool) {
            self.path = path
            self.tag = tag
            self.readOnly = readOnly
        }
    }

    /// Network cards: each a TAP libvirt makes on a host bridge, with the MAC address the guest finds it by.
    public var interfaces: [Interface] = []

    public struct Interface: Sendable, Equatable {
        public var bridge: String
        public var macAddress: String
        /// The TAP's name on the host.
        public var device: String

        public init(bridge: String, macAddress: String, device: String) {
            self.bridge = bridge
            self.macAddress = macAddress
            self.device = device
        }
    }

    public struct Disk: Sendable, Equatable {
        public var path: String
        public var readOnly: Bool

        public init(path: String, readOnly: Bool) {
            self.path = path
            self.readOnly = readOnly
        }
    }

    public init(name: String, kernel: String, initramfs: String, consoleLog: String, agentSocket: String) {
        self.name = name
        self.kernel = kernel
        self.initramfs = initramfs
        self.consoleLog = consoleLog
        self.agentSocket = agentSocket
    }

    /// libvirt's domain XML. Every way the guest ends (power off, reboot, crash) ends the domain:
    /// a utility VM is never restarted in place.
    public var domainXML: String {
        let loader = firmware.map { "<loader readonly='yes' type='rom'>\(Self.escaped($0))</loader>" } ?? ""
        let cpu = accelerator == .tcg
            ? machine.tcgCPUModel.map { "<cpu mode='custom' match='exact'><model fallback='forbid'>\(Self.escaped($0))</model></cpu>" } ?? ""
            : ""
        let tcg = accelerator == .tcg ? "<tcg><tb-cache unit='MiB'>\(translationCacheMiB)</tb-cache></tcg>" : ""
        let capabilities = removedQEMUCapabilities.map { "<qemu:del capability='\(Self.escaped($0))'/>" }.joined()
        return """
        <domain type='\(accelerator == .kvm ? "kvm" : "qemu")' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
          <name>\(Self.escaped(name))</name>
          <memory unit='MiB'>\(memoryMiB)</memory>
          <memoryBacking><source type='memfd'/><access mode='private'/></memoryBacking>
          <vcpu>\(vcpus)</vcpu>
          <os>
            <type arch='\(Self.escaped(machine.architecture))' machine='\(Self.escaped(machine.machineType))'>hvm</type>
            \(loader)
            <kernel>\(Self.escaped(kernel))</kernel>
            <initrd>\(Self.escaped(initramfs))</initrd>
            <cmdline>\(Self.escaped(commandLine))</cmdline>
          </os>
          \(cpu)
          <features>\(machine.acpi ? "<acpi/>" : "")\(tcg)</features>
          \(shares.isEmpty ? "" : Self.rootSeclabel)
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>destroy</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <emulator>\(Self.escaped(machine.emulator))</emulator>
            <controller type='usb' model='none'/>
        \(rootPortXML)
        \(diskXML)
        \(shareXML)
        \(interfaceXML)
            <serial type='file'><source path='\(Self.escaped(consoleLog))'/><target port='0'/></serial>
            <channel type='unix'>
              <source mode='bind' path='\(Self.escaped(agentSocket))'/>
              <target type='virtio' name='berth.agent'/>
            </channel>
            <memballoon model='none'/>
          </devices>
          \(capabilities.isEmpty ? "" : "<qemu:capabilities>\(capabilities)</qemu:capabilities>")
        </domain>
        """
    }

    /// QEMU capabilities libvirt is told this QEMU lacks. After every x86 start libvirt reads back the
    /// guest CPU's features, one QMP `qom-get` per flag (~400 calls, ~280 ms on TCG here), unless
    /// QEMU cannot report unavailable features; nothing of a utility VM uses that answer. libvirt
    /// marks such a domain tainted (`custom-hypervisor-feature`).
    public var removedQEMUCapabilities: [String] {
        machine == .x86_64 ? ["cpu-unavailable-features"] : []
    }

    /// libvirt's taint for a domain whose capabilities were changed, and why, for inspect.
    public var taints: [String] {
        removedQEMUCapabilities.isEmpty ? []
            : ["custom-hypervisor-feature: QEMU capability \(removedQEMUCapabilities.joined(separator: ", ")) removed, "
                + "so libvirt skips reading back every guest CPU feature at start"]
    }

    /// Root ports left empty for network cards plugged in while the VM runs (`network connect`).
    public static let hotplugPorts = 2

    /// Root ports left empty for the layer disks of containers that join the VM (a pod's).
    public static let diskHotplugPorts = 8

    /// QEMU's id of empty root port `port` in a VM berthd starts itself.
    public static func hotplugPortName(_ port: Int) -> String { "hotplug\(port)" }

    /// One PCIe root port per device libvirt places on one (each disk, share and card, and the
    /// agent's virtio-serial controller), and `hotplugPorts` and `diskHotplugPorts` more: libvirt
    /// fills the ports it is given before it adds its own, so these leave exactly that many empty.
    var rootPortXML: String {
        let placed = disks.count + shares.count + interfaces.count + 1
        return (1...(placed + Self.hotplugPorts + Self.diskHotplugPorts)).map { "    <controller type='pci' index='\($0)' model='pcie-root-port'/>" }
            .joined(separator: "\n")
    }

    /// The name disk `index` gets on virtio-blk, in the host's definition and in the guest's /dev alike.
    public static func diskName(_ index: Int) -> String {
        "vd" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index)))
    }

    /// Each disk on virtio-blk, named vda, vdb, … in order (so the guest's names match).
    var diskXML: String {
        disks.enumerated().map { index, disk in
            let name = Self.diskName(index)
            return "    <disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                + "<source file='\(Self.escaped(disk.path))'/><target dev='\(name)' bus='virtio'/>"
                + (disk.readOnly ? "<readonly/>" : "") + "</disk>"
        }.joined(separator: "\n")
    }

    /// A read-only layer disk plugged into a running VM, found in the guest by its serial.
    static func hotplugDiskXML(path: String, serial: String, target: String) -> String {
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='\(escaped(path))'/>"
            + "<target dev='\(escaped(target))' bus='virtio'/><readonly/><serial>\(escaped(serial))</serial></disk>"
    }

    /// With 9p passthrough QEMU touches the shared files itself: as root it keeps their owners as the
    /// guest sets them, the same files a native container sees (libvirt's default user could not
    /// write root's volumes). Only VMs with shares run QEMU as root.
    static let rootSeclabel = "<seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>"

    var shareXML: String {
        shares.map { share in
            "    <filesystem type='mount' accessmode='passthrough'><source dir='\(Self.escaped(share.path))'/>"
                + "<target dir='\(Self.escaped(share.tag))'/>" + (share.readOnly ? "<readonly/>" : "") + "</filesystem>"
        }.joined(separator: "\n")
    }

    /// virtio-net without its option ROM: the kernel is booted directly and nothing boots from the network.
    var interfaceXML: String {
        interfaces.map { "    " + Self.interfaceXML($0) }.joined(separator: "\n")
    }

    /// One card's device XML, in the domain and for plugging it in or out of a running one.
    static func interfaceXML(_ interface: Interface) -> String {
        "<interface type='bridge'><source bridge='\(escaped(interface.bridge))'/>"
            + "<mac address='\(escaped(interface.macAddress))'/><target dev='\(escaped(interface.device))'/>"
            + "<model type='virtio'/><rom enabled='no'/></interface>"
    }

    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "'": result += "&apos;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
