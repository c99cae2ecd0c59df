import Testing
@testable import VMRuntime

struct UtilityVMDefinitionTests {
    func definition() -> UtilityVMDefinition {
        UtilityVMDefinition(name: "berth-abc", kernel: "/k/kernel", initramfs: "/k/init & more.cpio.gz",
                            consoleLog: "/run/c'1/console.log", agentSocket: "/run/c1/agent.sock")
    }

    @Test func bootsTheKernelDirectlyWithTheAgentPort() {
        let xml = definition().domainXML
        #expect(xml.contains("<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"))
        #expect(xml.contains("<kernel>/k/kernel</kernel>"))
        #expect(xml.contains("<target type='virtio' name='berth.agent'/>"))
        #expect(xml.contains("<source mode='bind' path='/run/c1/agent.sock'/>"))
        for event in ["on_poweroff", "on_reboot", "on_crash"] { #expect(xml.contains("<\(event)>destroy</\(event)>")) }
    }

    @Test func backsGuestMemoryWithAPrivateMemfd() {
        #expect(definition().domainXML.contains("<memoryBacking><source type='memfd'/><access mode='private'/></memoryBacking>"))
    }

    @Test func sharesDirectoriesOverNinePAsRootOnlyWhenAsked() {
        #expect(!definition().domainXML.contains("<filesystem") && !definition().domainXML.contains("<seclabel"))
        var shared = definition()
        shared.shares = [.init(path: "/v/a", tag: "berth0", readOnly: false), .init(path: "/h", tag: "berth1", readOnly: true)]
        let xml = shared.domainXML
        #expect(xml.contains("<filesystem type='mount' accessmode='passthrough'><source dir='/v/a'/><target dir='berth0'/></filesystem>"))
        #expect(xml.contains("<source dir='/h'/><target dir='berth1'/><readonly/></filesystem>"))
        #expect(xml.contains("<seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>"))
    }

    /// libvirt fills the root ports it is given before adding its own: one per placed device (disks,
    /// shares, cards, the agent's serial controller), two more left empty for hot-plugged cards and
    /// eight for the layer disks of containers that join the VM.
    @Test func leavesRootPortsEmptyForCardsAndDisksPluggedInLater() {
        var vm = definition()
        vm.disks = [.init(path: "/d/0", readOnly: true), .init(path: "/d/1", readOnly: false)]
        vm.shares = [.init(path: "/v", tag: "berth0", readOnly: false)]
        vm.interfaces = [.init(bridge: "berth0", macAddress: "02:42:0a:00:00:02", device: "vbabc0")]
        let ports = vm.domainXML.components(separatedBy: "model='pcie-root-port'").count - 1
        #expect(UtilityVMDefinition.hotplugPorts == 2 && UtilityVMDefinition.diskHotplugPorts == 8)
        #expect(ports == 2 + 1 + 1 + 1 + 2 + 8)
        #expect(vm.domainXML.contains("<controller type='pci' index='15' model='pcie-root-port'/>"))
        #expect(definition().domainXML.components(separatedBy: "model='pcie-root-port'").count - 1 == 11)
    }

    /// A layer disk plugged into a running VM: read-only, with the serial the guest finds it by.
    @Test func aHotPluggedLayerDiskIsReadOnlyWithItsSerial() {
        let xml = UtilityVMDefinition.hotplugDiskXML(path: "/cache/layer-disks/sha256-ab.ext4", serial: "berth-layer-0", target: "vdza")
        #expect(xml == "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/cache/layer-disks/sha256-ab.ext4'/>"
            + "<target dev='vdza' bus='virtio'/><readonly/><serial>berth-layer-0</serial></disk>")
    }

    @Test func putsEachNetworkCardOnItsBridgeWithoutABootROM() {
        #expect(!definition().domainXML.contains("<interface"))
        var networked = definition()
        networked.interfaces = [.init(bridge: "berth0", macAddress: "02:42:0a:00:00:02", device: "vbabc0")]
        #expect(networked.domainXML.contains("<interface type='bridge'><source bridge='berth0'/><mac address='02:42:0a:00:00:02'/>"
            + "<target dev='vbabc0'/><model type='virtio'/><rom enabled='no'/></interface>"))
    }

    @Test func sparesLibvirtTheX86CPUFeatureReadBack() {
        let x86 = definition()
        #expect(x86.domainXML.contains("<qemu:capabilities><qemu:del capability='cpu-unavailable-features'/></qemu:capabilities>"))
        #expect(x86.taints.first?.hasPrefix("custom-hypervisor-feature: ") == true)
        var arm = definition()
        arm.machine = .aarch64
        #expect(!arm.domainXML.contains("<qemu:capabilities>") && arm.taints.isEmpty, "libvirt reads back no ARM CPU features")
    }

    @Test func escapesWhatXMLReserves() {
        let xml = definition().domainXML
        #expect(xml.contains("<initrd>/k/init &amp; more.cpio.gz</initrd>"))
        #expect(xml.contains("path='/run/c&apos;1/console.log'"))
    }

    @Test func usesKVMOnlyWhenAsked() {
        var kvm = definition()
        kvm.accelerator = .kvm
        #expect(kvm.domainXML.contains("<domain type='kvm' "))
        #expect(!kvm.domainXML.contains("<tcg>"), "a translation cache is TCG's alone")
        #expect(!kvm.domainXML.contains("noapictimer") && definition().domainXML.contains("panic=-1 i8042.noaux i8042.nokbd i8042.nopnp noreplace-smp noapictimer</cmdline>"))
        #expect(definition().domainXML.contains("<tcg><tb-cache unit='MiB'>12</tb-cache></tcg>"))
    }

    @Test func namesTheFirmwareOnlyWhenGiven() {
        var booted = definition()
        #expect(!booted.domainXML.contains("<loader"), "QEMU's default firmware")
        booted.firmware = "/q/qboot.rom"
        #expect(booted.domainXML.contains("<loader readonly='yes' type='rom'>/q/qboot.rom</loader>"))
    }
}
