import NIOHTTP1

/// Swarm mode's endpoints, answered as dockerd answers them on a node that is in no swarm: Berth runs
/// one host, and clients (docker-py's `leave_swarm(force=True)`, `docker info`, compose) rely on
/// these exact statuses to tell "no swarm here" from a broken daemon.
public enum SwarmRoutes {
    static let notManager = APIError(
        .serviceUnavailable,
        "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.")
    static let notInSwarm = APIError(.serviceUnavailable, "This node is not part of a swarm")
    static let unsupported = APIError(
        .serviceUnavailable, "Berth does not run swarm mode: it manages containers on this host only")

    public static func register(on router: inout Router) {
        router.add(.POST, "/swarm/leave") { _ in throw notInSwarm }
        router.add(.POST, "/swarm/init") { _ in throw unsupported }
        router.add(.POST, "/swarm/join") { _ in throw unsupported }
        let managerPaths = ["/swarm", "/swarm/{action*}", "/nodes", "/nodes/{rest*}", "/services", "/services/{rest*}",
                            "/tasks", "/tasks/{rest*}", "/secrets", "/secrets/{rest*}", "/configs", "/configs/{rest*}"]
        for path in managerPaths {
            for method in [HTTPMethod.GET, .POST, .DELETE] {
                router.add(method, path) { _ in throw notManager }
            }
        }
    }
}
