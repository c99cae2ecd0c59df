/// The accelerator utility VMs of the host's architecture use, and why it was chosen.
public struct AcceleratorReport: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Hardware virtualization, proven by booting a test guest.
        case kvm
        /// QEMU's software emulator: always works, slower.
        case tcg
        /// No qemu-system binary for the host's architecture: no utility VMs of that arch at all.
        case none
    }

    public var kind: Kind
    public var reason: String
    /// The KVM kernel module found (`kvm_intel`, `kvm_amd`, `kvm_pvm`), if any.
    public var kvmModule: String?

    public init(kind: Kind, reason: String, kvmModule: String?) {
        self.kind = kind
        self.reason = reason
        self.kvmModule = kvmModule
    }
}
