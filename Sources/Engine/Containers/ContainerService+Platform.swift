import APIModels
import HostModel
import OCI
import VMRuntime

extension ContainerService {
    /// The platform decision for a new container of `platform`, from the latest host probe and
    /// the guest kernels in the cache right now; a refusal is the user's error (exit 125).
    func decidePlatform(_ platform: Platform, _ host: HostConfig) async throws -> PlatformDecision {
        let supported = await hostState?.report.platforms
            ?? [PlatformSupport(platform: images.hostPlatform, mode: .native, via: "host kernel")]
        let cache = guestKernelCache
        do {
            return try PlatformDecision.decide(
                image: platform, host: images.hostPlatform, isolation: host.Isolation,
                emulation: host.Annotations?[HostConfig.emulationAnnotation], supported: supported,
                guestKernelAvailable: { architecture in
                    cache.flatMap { GuestKernel.select(platformArchitecture: architecture, cacheDirectory: $0) } != nil
                })
        } catch let refusal as PlatformDecisionError {
            throw ContainerError.invalid(refusal.description)
        }
    }
}
