import Foundation
import Testing
@testable import VMRuntime

struct VMTemplateTests {
    func definition(layers: Int = 2) -> UtilityVMDefinition {
        var definition = UtilityVMDefinition(name: "berth-abc", kernel: "/k/kernel", initramfs: "/k/initramfs.cpio",
                                             consoleLog: "/vm/console.log", agentSocket: "/vm/agent.sock")
        definition.disks = (0..<layers).map { .init(path: "/disks/layer\($0)", readOnly: true) } + [.init(path: "/vm/writable.ext4", readOnly: false)]
        definition.interfaces = [.init(bridge: "berth0", macAddress: "02:42:0a:00:00:02", device: "vbabc0")]
        definition.shares = [.init(path: "/volumes/v/_data", tag: "berth0", readOnly: false)]
        return definition
    }

    let files = VMTemplateFiles(directory: "/t/abc")

    func command(_ role: QEMUCommandLine.Role, _ definition: UtilityVMDefinition) -> [String] {
        QEMUCommandLine(definition: definition, layout: VMTemplateLayout(), role: role, files: files, runDirectory: "/vm", user: nil).arguments
    }

    /// The devices, in order, with their host ends left out: what a clone's QEMU must match.
    func devices(_ arguments: [String]) -> [String] {
        arguments.indices.filter { arguments[$0] == "-device" }.map { arguments[$0 + 1] }
            .map { $0.replacingOccurrences(of: #",netdev=net\d+"#, with: "", options: .regularExpression) }
    }

    @Test func aCloneHasItsTemplatesDevicesInTheSameOrder() {
        let template = command(.template, definition()), clone = command(.clone, definition())
        #expect(devices(template) == devices(clone))
        #expect(devices(template).filter { $0.hasPrefix("virtio-blk-pci") }.count == 13, "12 layer slots and the writable disk")
        #expect(devices(clone).suffix(2) == ["pcie-root-port,id=hotplug0,bus=pcie.0,chassis=1", "pcie-root-port,id=hotplug1,bus=pcie.0,chassis=2"],
                "empty root ports for cards plugged in later")
        #expect(template.contains("memory-backend-file,id=ram,size=256M,mem-path=/t/abc/memory,share=on"))
        #expect(clone.contains("memory-backend-file,id=ram,size=256M,mem-path=/t/abc/memory,share=off"), "copy-on-write")
        #expect(clone.suffix(2) == ["-incoming", "defer"] && !template.contains("-incoming"))
        #expect(template.contains("-kernel") && !clone.contains("-kernel"), "a clone's kernel is in the RAM it maps")
    }

    @Test func aCloneBacksItsSlotsWithTheContainersDisksAndBlanksTheRest() {
        let clone = command(.clone, definition())
        #expect(clone.contains("driver=file,node-name=file0,filename=/disks/layer0,read-only=on"))
        #expect(clone.contains("driver=file,node-name=file1,filename=/disks/layer1,read-only=on"))
        #expect(clone.contains("driver=file,node-name=file2,filename=/t/abc/blank-layer,read-only=on"))
        #expect(clone.contains("driver=file,node-name=file12,filename=/vm/writable.ext4,read-only=off"), "the writable disk follows the slots")
        #expect(clone.contains("tap,id=net0,ifname=vbabc0,script=no,downscript=no"))
        #expect(clone.contains("local,id=share0,path=/volumes/v/_data,security_model=passthrough"))
        #expect(clone.contains("local,id=share1,path=/t/abc/empty-share,security_model=passthrough,readonly=on"))
        let template = command(.template, definition())
        #expect(!template.contains { $0.contains("/disks/") || $0.contains("vbabc0") || $0.contains("/volumes/") },
                "a template is made of no container's files")
    }

    @Test func escapesCommasInQEMUOptions() {
        var odd = definition()
        odd.disks[0].path = "/disks/a,b"
        #expect(command(.clone, odd).contains("driver=file,node-name=file0,filename=/disks/a,,b,read-only=on"))
    }

    @Test func aVMFitsOnlyWithinTheSlots() {
        let layout = VMTemplateLayout()
        #expect(layout.fits(definition()))
        #expect(!layout.fits(definition(layers: 13)), "more layers than slots boot cold")
        var networks = definition()
        networks.interfaces.append(.init(bridge: "berth1", macAddress: "02:42:0a:01:00:02", device: "vbabc1"))
        #expect(!layout.fits(networks))
        var noWritable = definition()
        noWritable.disks.removeLast()
        #expect(!layout.fits(noWritable))
    }

    @Test func theFingerprintChangesWithQEMUTheKernelAndTheMachine() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("berth-fingerprint-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for file in ["kernel", "initramfs", "qemu"] { FileManager.default.createFile(atPath: "\(scratch)/\(file)", contents: Data("v1".utf8)) }
        var definition = definition()
        definition.kernel = scratch + "/kernel"
        definition.initramfs = scratch + "/initramfs"
        definition.machine.emulator = scratch + "/qemu"
        let layout = VMTemplateLayout()
        let first = VMTemplate.fingerprint(of: definition, layout: layout)
        var container = definition
        container.name = "berth-other"
        container.disks = [.init(path: "/elsewhere", readOnly: false)]
        #expect(VMTemplate.fingerprint(of: container, layout: layout) == first, "what a container adds is not part of it")
        // An upgraded QEMU is a new file.
        try FileManager.default.removeItem(atPath: scratch + "/qemu")
        FileManager.default.createFile(atPath: scratch + "/qemu", contents: Data("v2, longer".utf8))
        let upgraded = VMTemplate.fingerprint(of: definition, layout: layout)
        #expect(upgraded != first)
        var bigger = definition
        bigger.memoryMiB = 512
        #expect(VMTemplate.fingerprint(of: bigger, layout: layout) != upgraded)
        try Data("rebuilt kernel".utf8).write(to: URL(fileURLWithPath: scratch + "/kernel"))
        #expect(VMTemplate.fingerprint(of: definition, layout: layout) != upgraded)
    }

    @Test func aTemplateWithAChangedOrMissingFileIsNotIntact() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-template-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = VMTemplateFiles(directory: directory)
        try VMTemplateStore.makeSparseFile(files.memory, bytes: 1 << 20, mode: 0o600)
        try VMTemplateStore.makeSparseFile(files.blankLayer, bytes: VMTemplateLayout.blankDiskBytes, mode: 0o644)
        try VMTemplateStore.makeSparseFile(files.blankWritable, bytes: VMTemplateLayout.blankDiskBytes, mode: 0o644)
        try FileManager.default.createDirectory(atPath: files.emptyShare, withIntermediateDirectories: false)
        let state = Data("device state".utf8)
        try state.write(to: URL(fileURLWithPath: files.state))
        let template = VMTemplate(fingerprint: "abc", architecture: "x86_64", kernel: "/k", memoryMiB: 256, vcpus: 1, created: Date(), layout: VMTemplateLayout(), stateSHA256: VMTemplate.sha256(state),
                                  stateBytes: Int64(state.count), memoryBytes: 1 << 20, memoryIdentity: VMTemplate.identity(of: files.memory))
        #expect(template.isIntact(in: directory))
        // Same size, other bytes.
        try Data("device stat!".utf8).write(to: URL(fileURLWithPath: files.state))
        #expect(!template.isIntact(in: directory))
        try state.write(to: URL(fileURLWithPath: files.state))
        #expect(template.isIntact(in: directory))
        FileManager.default.createFile(atPath: files.emptyShare + "/planted", contents: nil)
        #expect(!template.isIntact(in: directory), "a share that is not empty")
        try FileManager.default.removeItem(atPath: files.emptyShare + "/planted")
        try FileManager.default.removeItem(atPath: files.memory)
        try VMTemplateStore.makeSparseFile(files.memory, bytes: 1 << 20, mode: 0o600)
        #expect(!template.isIntact(in: directory), "a replaced memory file")
    }

    @Test func quotesTheMigrationCommandsPathForTheShell() {
        #expect(VMTemplateStore.shellQuoted("/a b/it's") == #"'/a b/it'\''s'"#)
    }

    @Test func namesEachTemplateCardWithAnAddressNoContainerGets() {
        #expect(VMTemplateLayout.templateMAC(0) == "02:b7:00:00:00:00" && VMTemplateLayout.templateMAC(11) == "02:b7:00:00:00:0b")
    }
}
