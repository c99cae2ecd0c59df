/// The virtual hardware a utility VM of one architecture gets: QEMU's binary and machine type, the
/// console the guest kernel writes to, and what makes that kernel boot fast under TCG.
public struct GuestMachine: Sendable, Equatable {
    /// libvirt's (and `uname -m`'s) name: x86_64, aarch64.
    public var architecture: String
    public var machineType: String
    public var emulator: String
    public var kernelArguments: String
    /// Added under TCG only.
    public var tcgKernelArguments: String
    /// The CPU model under TCG; nil for QEMU's default.
    public var tcgCPUModel: String?
    /// Whether the guest finds its devices through ACPI (x86) rather than a device tree.
    public var acpi: Bool

    /// q35, as libvirt gives it. No PS/2 controller probing (its mouse probe holds a power-off back
    /// by a third of a second on TCG), the kernel's SMP instructions kept on one vCPU (patching them
    /// to their single-CPU forms took ~45 ms of a TCG boot) and, under TCG, no local APIC timer,
    /// whose calibration alone spins for 100 ms of emulated time (the PIT ticks instead).
    public static let x86_64 = GuestMachine(
        architecture: "x86_64", machineType: "q35", emulator: "/usr/bin/qemu-system-x86_64",
        kernelArguments: "console=ttyS0 quiet panic=-1 i8042.noaux i8042.nokbd i8042.nopnp noreplace-smp", tcgKernelArguments: "noapictimer",
        tcgCPUModel: nil, acpi: true)

    /// QEMU's virt board with a PL011 console. Cortex-A57 has no pointer authentication, which
    /// TCG emulates slowly with `-cpu max`; it runs every arm64 image (ARMv8.0).
    public static let aarch64 = GuestMachine(
        architecture: "aarch64", machineType: "virt", emulator: "/usr/bin/qemu-system-aarch64",
        kernelArguments: "console=ttyAMA0 quiet panic=-1", tcgKernelArguments: "", tcgCPUModel: "cortex-a57", acpi: false)

    /// 32-bit ARM (arm/v7) on the virt board: a Cortex-A15, with LPAE for the PCI windows above 4 GiB.
    public static let arm = GuestMachine(
        architecture: "armv7l", machineType: "virt", emulator: "/usr/bin/qemu-system-arm",
        kernelArguments: "console=ttyAMA0 quiet panic=-1", tcgKernelArguments: "", tcgCPUModel: "cortex-a15", acpi: false)

    /// The machine for an image's (OCI) architecture, if Berth has one.
    public static func forPlatform(architecture: String) -> GuestMachine? {
        switch architecture {
        case "amd64": return .x86_64
        case "arm64": return .aarch64
        case "arm": return .arm
        default: return nil
        }
    }
}
