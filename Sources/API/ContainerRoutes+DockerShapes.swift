import APIModels
import Engine
import Foundation
import OCI

/// Container records as Docker's inspect, list and network shapes, status words and filters.
extension ContainerRoutes {
    static func inspect(_ record: ContainerRecord, paths: ContainerPaths, networks: [NetworkRecord]) -> ContainerInspect {
        let state = record.state
        // Clients read the log driver from here (docker-py's `containers.run` does): Docker always names it.
        var hostConfig = record.hostConfig
        hostConfig.LogConfig = LogConfig(Type: hostConfig.LogConfig?.Type ?? "json-file", Config: hostConfig.LogConfig?.Config ?? [:])
        return ContainerInspect(
            Id: record.id, Created: ContainerTime.rfc3339(record.created), Path: record.path, Args: record.arguments,
            State: ContainerStateJSON(
                Status: state.status.rawValue, Running: state.status == .running || state.status == .paused,
                Paused: state.status == .paused, Restarting: state.status == .restarting, OOMKilled: state.oomKilled,
                Dead: state.status == .dead, Pid: Int(state.pid), ExitCode: Int(state.exitCode), Error: state.error,
                StartedAt: ContainerTime.rfc3339(state.startedAt), FinishedAt: ContainerTime.rfc3339(state.finishedAt),
                Health: state.health),
            Image: record.imageID, ResolvConfPath: "", HostnamePath: "", HostsPath: "", LogPath: "",
            Name: "/" + record.name, RestartCount: state.restartCount, Platform: "linux",
            HostConfig: hostConfig,
            GraphDriver: .init(Name: "overlay", Data: [:]), Config: record.config,
            NetworkSettings: networkSettings(record, networks: networks, paths: paths),
            Mounts: mountPoints(record, paths: paths),
            Berth: ContainerRuntimeDetails(Isolation: record.runsInVM ? "vm" : "process", Platform: record.platform,
                                           Mode: record.state.platformDecision?.mode.rawValue,
                                           Reason: record.state.platformDecision?.reason, UtilityVM: record.state.utilityVM))
    }

    /// Docker's `Mounts`: volumes by name and data directory, binds by host path.
    static func mountPoints(_ record: ContainerRecord, paths: ContainerPaths) -> [MountPoint] {
        (record.state.mounts ?? []).map { mount in
            let mode = mount.readOnly ? "ro" : (mount.kind == .bind ? "" : "z")
            switch mount.kind {
            case .volume:
                return MountPoint(Type: "volume", Name: mount.volume, Source: paths.volumeData(mount.volume ?? ""),
                                  Destination: mount.target, Driver: "local", Mode: mode, RW: !mount.readOnly, Propagation: "")
            case .bind:
                return MountPoint(Type: "bind", Name: nil, Source: mount.source, Destination: mount.target, Driver: nil, Mode: mode,
                                  RW: !mount.readOnly, Propagation: mount.options.isEmpty ? "rprivate" : mount.options)
            case .tmpfs:
                return MountPoint(Type: "tmpfs", Name: nil, Source: "", Destination: mount.target, Driver: nil, Mode: "",
                                  RW: !mount.readOnly, Propagation: "")
            }
        }
    }

    static func summary(_ record: ContainerRecord, paths: ContainerPaths, networks: [NetworkRecord]) -> ContainerSummary {
        var summary = ContainerSummary(
            Id: record.id, Names: ["/" + record.name], Image: record.imageName, ImageID: record.imageID,
            Command: ([record.path] + record.arguments).joined(separator: " "),
            Created: Int64(record.created.timeIntervalSince1970), Labels: record.config.Labels ?? [:],
            State: record.state.status.rawValue, Status: status(record.state),
            NetworkMode: record.hostConfig.NetworkMode ?? "none")
        summary.Mounts = mountPoints(record, paths: paths)
        let settings = networkSettings(record, networks: networks, paths: paths)
        summary.NetworkSettings = ["Networks": settings["Networks"] ?? .object([:])]
        summary.Ports = (record.state.publishedPorts ?? []).map { port in
            .object(["IP": .string(port.hostAddress?.description ?? "0.0.0.0"), "PrivatePort": .number(Double(port.containerPort)),
                     "PublicPort": .number(Double(port.hostPort)), "Type": .string(port.proto)])
        }
        return summary
    }

    /// A stable endpoint ID per container and network, as Docker shows one.
    static func endpointID(_ containerID: String, _ networkID: String) -> String {
        DigestHasher.digest(of: Data((containerID + networkID).utf8)).encoded
    }

    /// Docker's `NetworkSettings`: each network's endpoint, the published ports (exposed ones
    /// unbound), and for the default network the top-level address fields old clients read.
    static func networkSettings(_ record: ContainerRecord, networks: [NetworkRecord], paths: ContainerPaths) -> [String: JSONValue] {
        func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
        var endpoints: [String: JSONValue] = [:]
        var settings: [String: JSONValue] = [
            "Bridge": .string(""), "SandboxID": .string(""), "HairpinMode": .bool(false), "SandboxKey": .string(""),
            "IPAddress": .string(""), "IPPrefixLen": .number(0), "Gateway": .string(""), "MacAddress": .string(""),
            "GlobalIPv6Address": .string(""), "GlobalIPv6PrefixLen": .number(0), "IPv6Gateway": .string(""),
        ]
        if record.state.status == .running, !record.attachments.isEmpty, !record.runsInVM {
            settings["SandboxKey"] = .string(paths.networkNamespace(record.id))
        }
        for attachment in record.attachments {
            let network = networks.first { $0.id == attachment.networkID }
            let address = attachment.address?.description ?? ""
            let gateway = attachment.address == nil ? "" : network?.gateway.description ?? ""
            let prefix = Double(attachment.address == nil ? 0 : network?.subnet.prefixLength ?? 0)
            let names = [record.name, String(record.id.prefix(12))] + attachment.aliases
            var ipam: [String: JSONValue] = [:]
            if let requested = attachment.requestedAddress { ipam["IPv4Address"] = .string(requested.description) }
            if let requested = attachment.requestedIPv6Address { ipam["IPv6Address"] = .string(requested.description) }
            let ipv6 = attachment.ipv6Address?.description ?? ""
            let ipv6Gateway = attachment.ipv6Address == nil ? "" : network?.ipv6Gateway?.description ?? ""
            let ipv6Prefix = Double(attachment.ipv6Address == nil ? 0 : network?.ipv6Subnet?.prefixLength ?? 0)
            if let linkLocal = attachment.linkLocalAddresses { ipam["LinkLocalIPs"] = strings(linkLocal.map(\.description)) }
            endpoints[attachment.networkName] = .object([
                "IPAMConfig": ipam.isEmpty ? .null : .object(ipam),
                "Links": attachment.links.map(strings) ?? .null,
                "Aliases": attachment.aliases.isEmpty ? .null : strings(attachment.aliases),
                "NetworkID": .string(attachment.networkID),
                "EndpointID": .string(attachment.address == nil ? "" : endpointID(record.id, attachment.networkID)),
                "Gateway": .string(gateway), "IPAddress": .string(address), "IPPrefixLen": .number(prefix),
                "IPv6Gateway": .string(ipv6Gateway), "GlobalIPv6Address": .string(ipv6), "GlobalIPv6PrefixLen": .number(ipv6Prefix),
                "MacAddress": .string(attachment.macAddress ?? attachment.requestedMACAddress ?? ""),
                "DriverOpts": attachment.driverOptions.map { .object($0.mapValues { .string($0) }) } ?? .null,
                "DNSNames": network?.hasNameServer == true ? strings(names) : .null,
            ])
            // The first network's MAC address, as dockerd shows it for the container.
            if attachment.networkID == record.attachments.first?.networkID {
                settings["MacAddress"] = .string(attachment.macAddress ?? attachment.requestedMACAddress ?? "")
            }
            if network?.isDefault == true {
                settings["IPAddress"] = .string(address)
                settings["Gateway"] = .string(gateway)
                settings["IPPrefixLen"] = .number(prefix)
                settings["GlobalIPv6Address"] = .string(ipv6)
                settings["GlobalIPv6PrefixLen"] = .number(ipv6Prefix)
                settings["IPv6Gateway"] = .string(ipv6Gateway)
            }
        }
        if record.hostConfig.NetworkMode == "host" || record.hostConfig.NetworkMode == "none" {
            endpoints[record.hostConfig.NetworkMode!] = .object(["NetworkID": .string(""), "EndpointID": .string(""),
                                                                 "IPAddress": .string(""), "Gateway": .string("")])
        }
        settings["Networks"] = .object(endpoints)
        var ports: [String: JSONValue] = [:]
        for key in (record.config.ExposedPorts ?? [:]).keys { ports[key] = .null }
        for key in (record.hostConfig.PortBindings ?? [:]).keys { ports[key] = .null }
        for port in record.state.publishedPorts ?? [] {
            let key = "\(port.containerPort)/\(port.proto)"
            var bindings: [JSONValue] = []
            if case .array(let existing)? = ports[key] { bindings = existing }
            bindings.append(.object(["HostIp": .string(port.hostAddress?.description ?? "0.0.0.0"), "HostPort": .string(String(port.hostPort))]))
            ports[key] = .array(bindings)
        }
        settings["Ports"] = .object(ports)
        return settings
    }

    /// `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`, as `docker ps` shows.
    static func status(_ state: ContainerRecord.State, now: Date = Date()) -> String {
        switch state.status {
        case .created: return "Created"
        case .running, .paused:
            let up = "Up " + humanDuration(now.timeIntervalSince(state.startedAt ?? now))
            if state.status == .paused { return up + " (Paused)" }
            switch state.health?.Status {
            case .starting: return up + " (health: starting)"
            case .healthy: return up + " (healthy)"
            case .unhealthy: return up + " (unhealthy)"
            case nil: return up
            }
        case .restarting:
            return "Restarting (\(state.exitCode)) \(humanDuration(now.timeIntervalSince(state.finishedAt ?? now))) ago"
        case .exited:
            return "Exited (\(state.exitCode)) \(humanDuration(now.timeIntervalSince(state.finishedAt ?? now))) ago"
        case .removing: return "Removal In Progress"
        case .dead: return "Dead"
        }
    }

    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < 1 { return "Less than a second" }
        if seconds == 1 { return "1 second" }
        if seconds < 60 { return "\(seconds) seconds" }
        let minutes = seconds / 60
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let hours = minutes / 60
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 14 { return "\(hours / 24) days" }
        if hours < 24 * 60 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(hours / 24 / 365) years"
    }

    static func matches(_ record: ContainerRecord, _ filters: [String: [String]]) -> Bool {
        for (key, values) in filters where !values.isEmpty {
            let ok: Bool
            switch key {
            case "id": ok = values.contains { record.id.hasPrefix($0) }
            case "name": ok = values.contains { record.name.contains($0.hasPrefix("/") ? String($0.dropFirst()) : $0) }
            case "status": ok = values.contains(record.state.status.rawValue)
            case "exited": ok = record.state.status == .exited && values.contains(String(record.state.exitCode))
            case "health":
                // `none` for containers without a healthcheck, as dockerd has it.
                let status = record.state.isActive ? record.state.health?.Status.rawValue ?? "none" : "none"
                ok = values.contains(status)
            case "ancestor": ok = values.contains { $0 == record.imageName || record.imageID.contains($0) }
            case "label":
                ok = values.allSatisfy { LabelFilter.matches($0, in: record.config.Labels ?? [:]) }
            default: ok = true
            }
            if !ok { return false }
        }
        return true
    }
}
