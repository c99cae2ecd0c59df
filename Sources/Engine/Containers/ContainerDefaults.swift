import APIModels

/// What the daemon gives containers that do not say otherwise, as dockerd's `log-opts` and
/// `default-ulimits` do: a container's own values win, name by name.
public struct ContainerDefaults: Sendable, Equatable {
    /// json-file options: `max-size`, `max-file`.
    public var logOptions: [String: String]
    public var ulimits: [Ulimit]

    public init(logOptions: [String: String] = [:], ulimits: [Ulimit] = []) {
        self.logOptions = logOptions
        self.ulimits = ulimits
    }

    /// The json-file driver's options with their values checked, as a container's would be.
    public static func checkLogOptions(_ options: [String: String]) throws {
        if let unknown = options.keys.sorted().first(where: { $0 != "max-size" && $0 != "max-file" }) {
            throw ContainerError.invalid("unknown log opt '\(unknown)' for json-file log driver")
        }
        _ = try ContainerLaunchPlan.logRotation(options)
    }

    /// A ulimit's name and range checked, as a container's would be.
    public static func checkUlimit(_ limit: Ulimit) throws {
        _ = try ContainerLaunchPlan.resourceNumber(of: limit)
        guard limit.Soft >= -1 else {
            throw ContainerError.invalid("ulimit soft limit must be less than or equal to hard limit: \(limit.Soft) > \(limit.Hard)")
        }
    }

    /// Fills in what the container's own settings leave out; stored with the container, so inspect
    /// shows what it runs with and a later change of defaults does not touch it.
    func apply(to host: inout HostConfig) {
        if !logOptions.isEmpty, (host.LogConfig?.Type ?? "").isEmpty || host.LogConfig?.Type == "json-file",
           (host.LogConfig?.Config ?? [:]).isEmpty {
            host.LogConfig = LogConfig(Type: "json-file", Config: logOptions)
        }
        if !ulimits.isEmpty {
            let own = host.Ulimits ?? []
            host.Ulimits = own + ulimits.filter { limit in !own.contains { $0.Name == limit.Name } }
        }
    }
}
