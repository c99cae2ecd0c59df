import APIModels
import AsyncHTTPClient
import Foundation
import ImageStore
import Logging
import OCI
import Registry
@testable import Engine

/// A container service on a temporary root with one image (`test:latest`, no layers) and a
/// fake runtime: the lifecycle without a kernel, a shim or a VM.
struct EngineFixture {
    let root: String
    let containers: ContainerService
    let runtime: FakeContainerRuntime
    let events: EventBus

    static func with<T>(runtime: FakeContainerRuntime = FakeContainerRuntime(), _ body: (EngineFixture) async throws -> T) async throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-engine-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fixture = try await EngineFixture(root: root, runtime: runtime)
        return try await body(fixture)
    }

    private init(root: String, runtime: FakeContainerRuntime) async throws {
        self.root = root
        self.runtime = runtime
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let store = try StateStore(directory: root)
        let events = EventBus()
        let platform = Platform(os: "linux", architecture: "amd64")
        let images = ImageService(
            content: try ContentStore(root: root + "/content"), snapshots: try SnapshotStore(root: root + "/snapshots"),
            catalog: ImageCatalog(database: store.database),
            registry: RegistryClient(http: HTTPClient.shared, settings: try RegistrySettings()), events: events, hostPlatform: platform)
        let config = Data(#"{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
        let configDigest = try images.content.write(config)
        let image = ImageRecord(id: configDigest, manifestDigest: configDigest, manifestMediaType: "application/vnd.oci.image.manifest.v1+json",
                                platform: platform, created: nil, size: Int64(config.count), layers: [])
        try images.catalog.add(image, tag: try Reference(parsing: "test:latest"), repoDigest: nil)
        containers = try ContainerService(
            paths: ContainerPaths(root: root, execRoot: root + "/exec"), catalog: ContainerCatalog(database: store.database),
            images: images, events: events, runtimes: ContainerRuntimes(native: runtime, utilityVM: runtime),
            logger: Logger(label: "berth.engine-tests"))
        self.events = events
    }

    /// `docker create --network none test` with the given host settings.
    func create(name: String? = nil, command: [String] = ["/bin/true"], _ adjust: (inout HostConfig) -> Void = { _ in }) async throws -> String {
        var config = ContainerConfig()
        config.Image = "test"
        config.Cmd = StringOrList(command)
        var host = HostConfig()
        host.NetworkMode = "none"
        adjust(&host)
        return try await containers.create(ContainerCreateRequest(config: config, hostConfig: host), name: name, platform: nil).id
    }

    /// Every container event so far, as "action" strings.
    func containerActions(_ id: String) async throws -> [String] {
        var actions: [String] = []
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        for await event in await events.subscribe(filter: try EventFilter(["container": [id]]), since: 0, until: now) {
            actions.append(event.action)
        }
        return actions
    }

    func status(_ id: String) async throws -> ContainerRecord.State { try await containers.find(id).state }

    /// Waits until the container's state satisfies `condition`. The limit is generous: beside the
    /// integration suites on two CPUs, this process can wait tens of seconds for a thread.
    func waitFor(_ id: String, _ condition: (ContainerRecord.State) -> Bool) async throws -> ContainerRecord.State {
        let deadline = Date().addingTimeInterval(120)
        while true {
            let state = try await status(id)
            if condition(state) || Date() >= deadline { return state }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
