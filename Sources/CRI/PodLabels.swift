import CRIProtocol
import Engine

/// How a pod sandbox and its containers are kept in the engine's own store: each is a container
/// record, and what the CRI knows beyond Docker's settings rides on labels with this prefix (the
/// request's annotations on `HostConfig.Annotations`). They are the CRI's, so they are left out of
/// the labels the CRI reports; `berth ps` and the Docker API show them.
enum PodLabels {
    static let prefix = "io.berth.cri."
    /// "podsandbox" or "container".
    static let kind = prefix + "kind"
    static let name = prefix + "name"
    static let namespace = prefix + "namespace"
    static let uid = prefix + "uid"
    static let attempt = prefix + "attempt"
    static let runtimeHandler = prefix + "runtime-handler"
    /// A container's pod: its sandbox's ID.
    static let sandboxID = prefix + "sandbox-id"
    /// The image as the request named it (a container's `ImageSpec.image`).
    static let image = prefix + "image"
    /// A container's log file, in the CRI's format: the sandbox's log directory and the container's path joined.
    static let logPath = prefix + "log-path"
    static let logDirectory = prefix + "log-directory"

    static let sandboxKind = "podsandbox"
    static let containerKind = "container"

    /// The request's labels, without those the CRI keeps for itself.
    static func userLabels(_ labels: [String: String]?) -> [String: String] {
        (labels ?? [:]).filter { !$0.key.hasPrefix(prefix) }
    }

    static func isSandbox(_ record: ContainerRecord) -> Bool { record.config.Labels?[kind] == sandboxKind }
    static func isPodContainer(_ record: ContainerRecord) -> Bool { record.config.Labels?[kind] == containerKind }

    /// The pod's metadata as the sandbox's labels hold it.
    static func sandboxMetadata(_ record: ContainerRecord) -> Runtime_V1_PodSandboxMetadata {
        let labels = record.config.Labels ?? [:]
        return .with {
            $0.name = labels[name] ?? ""
            $0.namespace = labels[namespace] ?? ""
            $0.uid = labels[uid] ?? ""
            $0.attempt = UInt32(labels[attempt] ?? "") ?? 0
        }
    }

    static func containerMetadata(_ record: ContainerRecord) -> Runtime_V1_ContainerMetadata {
        let labels = record.config.Labels ?? [:]
        return .with {
            $0.name = labels[name] ?? ""
            $0.attempt = UInt32(labels[attempt] ?? "") ?? 0
        }
    }

    /// Whether `labels` has every pair of a CRI label selector.
    static func matches(_ labels: [String: String], selector: [String: String]) -> Bool {
        selector.allSatisfy { labels[$0.key] == $0.value }
    }
}

/// Docker-style names for the records (dockershim's), so `berth ps` tells them apart:
/// `k8s_POD_<pod>_<namespace>_<uid>_<attempt>` and `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`.
enum PodNames {
    static func sandbox(_ metadata: Runtime_V1_PodSandboxMetadata) -> String {
        sanitized("k8s_POD_\(metadata.name)_\(metadata.namespace)_\(metadata.uid)_\(metadata.attempt)")
    }

    static func container(_ metadata: Runtime_V1_ContainerMetadata, in pod: Runtime_V1_PodSandboxMetadata) -> String {
        sanitized("k8s_\(metadata.name)_\(pod.name)_\(pod.namespace)_\(pod.uid)_\(metadata.attempt)")
    }

    /// A container name takes `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; anything else in the metadata becomes `-`.
    private static func sanitized(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "-" })
    }
}
