import APIModels
import Foundation
import VMRuntime

extension ContainerRecord {
    /// The platform decision put it in a utility VM (a foreign architecture, or `--isolation=vm`; a
    /// container made before decisions were recorded: `vm`, or `hyperv` as the docker CLI says it).
    public var runsInVM: Bool {
        state.platformDecision.map { $0.mode == .systemVM } ?? ["vm", "hyperv"].contains(hostConfig.Isolation?.lowercased() ?? "")
    }

    /// The accelerator the user forced, checked at creation. KVM runs only the host's own architecture.
    static func requestedAccelerator(_ host: HostConfig, decision: PlatformDecision?, foreign: Bool) throws
        -> UtilityVMDefinition.Accelerator?
    {
        guard let text = host.Annotations?[HostConfig.vmAcceleratorAnnotation] else { return nil }
        guard let accelerator = UtilityVMDefinition.Accelerator(rawValue: text.lowercased()) else {
            throw ContainerError.invalid("invalid VM accelerator: \(text) (use kvm or tcg)")
        }
        guard decision.map({ $0.mode == .systemVM }) ?? true else {
            throw ContainerError.invalid("a VM accelerator applies only to containers in utility VMs (--isolation=vm)")
        }
        if accelerator == .kvm, foreign {
            throw ContainerError.invalid("KVM runs only this host's own architecture: use --vm-accel tcg for another")
        }
        if accelerator == .kvm, access("/dev/kvm", R_OK | W_OK) != 0 {
            throw ContainerError.invalid("KVM is not available on this host: /dev/kvm cannot be opened")
        }
        return accelerator
    }

    /// The guest kernel the user chose (`--vm-kernel`), checked at creation and looked up again at
    /// each start; nil for the cache's default.
    static func requestedGuestKernel(_ host: HostConfig, decision: PlatformDecision?, imageArchitecture: String,
                                     cacheDirectory: String?) throws -> GuestKernel? {
        guard let choice = host.Annotations?[HostConfig.vmKernelAnnotation] else { return nil }
        guard decision.map({ $0.mode == .systemVM }) ?? true else {
            throw ContainerError.invalid("a guest kernel applies only to containers in utility VMs (--isolation=vm)")
        }
        guard let cacheDirectory else { throw ContainerError.invalid("this daemon runs no utility VMs: no guest kernel \(choice)") }
        do {
            return try GuestKernel.chosen(choice, architecture: GuestKernel.architecture(forPlatform: imageArchitecture),
                                          cacheDirectory: cacheDirectory)
        } catch let refusal as GuestKernelChoiceError {
            throw ContainerError.invalid(refusal.description)
        }
    }
}
