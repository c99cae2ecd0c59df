import APIModels
import Engine
import Foundation
import NIOCore
import NIOHTTP1
import ImageStore
import NativeRuntime
import OCI

/// `/containers/*`: the lifecycle of native containers in Docker's shapes.
public enum ContainerRoutes {
    public static func register(on router: inout Router, containers: ContainerService, spoolDirectory: String) {
        router.add(.GET, "/containers/{id}/archive") { request in
            guard let path = request.queryValue("path"), !path.isEmpty else { throw APIError.badRequest("path is required") }
            let reference = id(request)
            let output = spoolDirectory + "/archive-\(UUID().uuidString).tar"
            let head = request.method == .HEAD
            let stat = try await mapErrors {
                try await containers.withRoot(reference) { root in
                    let stat = try root.stat(path)
                    if !head { try root.archive(path, to: output) }
                    return stat
                }
            }
            let headers: HTTPHeaders = ["Content-Type": "application/x-tar", "X-Docker-Container-Path-Stat": pathStatHeader(stat)]
            if head { return HTTPResponse(headers: headers) }
            return HTTPResponse(headers: headers, body: .file(path: output, removeAfter: true))
        }
        router.add(.PUT, "/containers/{id}/archive", spoolBody: true) { request in
            guard let path = request.queryValue("path"), !path.isEmpty else { throw APIError.badRequest("path is required") }
            guard let body = request.bodyFile else { throw APIError.badRequest("a tar archive is required") }
            let reference = id(request)
            try await mapErrors { try await containers.withRoot(reference) { try $0.extract(body, into: path) } }
            return HTTPResponse(status: .ok)
        }
        router.add(.GET, "/containers/{id}/export") { request in
            let reference = id(request)
            let output = spoolDirectory + "/export-\(UUID().uuidString).tar"
            try await mapErrors { try await containers.withRoot(reference) { try $0.archive("/", to: output) } }
            return HTTPResponse(headers: ["Content-Type": "application/x-tar"], body: .file(path: output, removeAfter: true))
        }
        router.add(.GET, "/containers/{id}/changes") { request in
            let changes = try await mapErrors { try await containers.changes(id(request)) }
            return .json(changes.map { ["Path": JSONValue.string($0.path), "Kind": .number(Double($0.kind))] })
        }
        router.add(.POST, "/containers/create") { request in
            let body: ContainerCreateRequest
            do {
                body = try JSONDecoder().decode(ContainerCreateRequest.self, from: Data(buffer: request.body))
            } catch {
                throw APIError.badRequest("invalid container config: \(error)")
            }
            let platform = try request.queryValue("platform").flatMap { $0.isEmpty ? nil : $0 }.map { text in
                do { return try Platform(parsing: text) } catch { throw APIError.badRequest("\(error)") }
            }
            let created = try await mapErrors {
                try await containers.create(body, name: request.queryValue("name"), platform: platform)
            }
            return .json(ContainerCreateResponse(Id: created.id, Warnings: created.warnings), status: .created)
        }
        router.add(.GET, "/containers/json") { request in
            let filters = try QueryFilters.parse(request.queryValue("filters"))
            var records = try await containers.list().filter { record in
                (request.queryFlag("all") || record.state.isActive) && matches(record, filters)
            }
            if let limit = request.queryValue("limit").flatMap(Int.init), limit > 0 { records = Array(records.prefix(limit)) }
            let networks = try await containers.listNetworks()
            var summaries = records.map { summary($0, paths: containers.paths, networks: networks) }
            if request.queryFlag("size") {
                // The writable layer's bytes, and those plus the image's.
                for index in summaries.indices {
                    let sizes = await containers.sizes(records[index])
                    summaries[index].SizeRw = sizes.writable
                    summaries[index].SizeRootFs = sizes.total
                }
            }
            return .json(summaries)
        }
        router.add(.GET, "/containers/{id}/json") { request in
            .json(inspect(try await find(request, containers), paths: containers.paths, networks: try await containers.listNetworks()))
        }
        router.add(.POST, "/containers/{id}/start") { request in
            do {
                try await mapErrors { try await containers.start(id(request)) }
            } catch let error as APIError where error.status == .notModified {
                return HTTPResponse(status: .notModified)
            }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/stop") { request in
            let signal = try request.queryValue("signal").map(parseSignal)
            do {
                try await mapErrors {
                    try await containers.stop(id(request), signal: signal, timeout: request.queryValue("t").flatMap(Int.init))
                }
            } catch let error as APIError where error.status == .notModified {
                return HTTPResponse(status: .notModified)
            }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/restart") { request in
            try await mapErrors {
                do {
                    try await containers.stop(id(request), timeout: request.queryValue("t").flatMap(Int.init))
                } catch ContainerError.notModified {}
                try await containers.start(id(request))
            }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/kill") { request in
            let signal = try request.queryValue("signal").flatMap { $0.isEmpty ? nil : $0 }.map(parseSignal) ?? SIGKILL
            try await mapErrors { try await containers.kill(id(request), signal: signal) }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/wait") { request in
            let conditionText = request.queryValue("condition").flatMap { $0.isEmpty ? nil : $0 } ?? "not-running"
            guard let condition = ContainerService.WaitCondition(rawValue: conditionText) else {
                throw APIError.badRequest("invalid condition: \(conditionText)")
            }
            // Registered before the head goes out, so a client that starts the container once it has
            // the head (as Docker's does) cannot miss the exit; the status follows when it comes.
            let waiting = try await mapErrors { try await containers.waiter(id(request), condition: condition) }
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            let task = Task {
                let status = await waiting()
                var data = try JSONEncoder().encode(ContainerWaitResponse(StatusCode: Int(status.code), error: status.error))
                data.append(UInt8(ascii: "\n"))
                continuation.yield(ByteBuffer(bytes: data))
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
            return HTTPResponse(headers: ["Content-Type": "application/json"], body: .stream(stream))
        }
        router.add(.DELETE, "/containers/{id}") { request in
            try await mapErrors {
                try await containers.remove(id(request), force: request.queryFlag("force"), removeVolumes: request.queryFlag("v"))
            }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/resize") { request in
            guard let rows = request.queryValue("h").flatMap(Int.init), let columns = request.queryValue("w").flatMap(Int.init) else {
                throw APIError.badRequest("h and w are required")
            }
            try await mapErrors { try await containers.resize(id(request), rows: rows, columns: columns) }
            return HTTPResponse(status: .ok)
        }
        router.add(.POST, "/containers/{id}/attach") { request in
            let record = try await find(request, containers)
            let tty = record.config.Tty == true
            let stdin = request.queryFlag("stdin"), stdout = request.queryFlag("stdout"), stderr = request.queryFlag("stderr")
            if !record.state.isActive, record.state.status != .created, !request.queryFlag("logs") {
                throw APIError(.conflict, "You cannot attach to a stopped container, start it first")
            }
            let detachKeys = try request.queryValue("detachKeys").map(parseDetachKeys) ?? defaultDetachKeys
            return hijacked(request, tty: tty) { connection in
                try await containers.attach(record.id, stdin: stdin, stdout: stdout, stderr: stderr) { attachment in
                    try await bridge(connection, attachment, forwardInput: stdin, detachKeys: stdin ? detachKeys : nil)
                }
            }
        }
        router.add(.POST, "/commit") { request in
            guard let container = request.queryValue("container"), !container.isEmpty else {
                throw APIError.badRequest("container is required")
            }
            var name: Reference?
            if let repository = request.queryValue("repo"), !repository.isEmpty {
                let tag = request.queryValue("tag").flatMap { $0.isEmpty ? nil : $0 }
                do {
                    name = try Reference(parsing: tag.map { "\(repository):\($0)" } ?? repository)
                } catch {
                    throw APIError.badRequest("\(error)")
                }
            }
            let overrides = request.body.readableBytes > 0
                ? try? JSONDecoder().decode(ContainerConfig.self, from: Data(buffer: request.body)) : nil
            let pause = request.queryValue("pause").map { !["0", "false"].contains($0.lowercased()) } ?? true
            let id = try await mapErrors {
                try await containers.commit(container, name: name, comment: request.queryValue("comment") ?? "",
                                            author: request.queryValue("author") ?? "", pause: pause,
                                            overrides: overrides, changes: request.query["changes"] ?? [])
            }
            return .json(IDResponse(Id: id), status: .created)
        }
        router.add(.POST, "/containers/{id}/pause") { request in
            try await mapErrors { try await containers.pause(id(request)) }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/unpause") { request in
            try await mapErrors { try await containers.unpause(id(request)) }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/{id}/rename") { request in
            guard let name = request.queryValue("name"), !name.isEmpty else { throw APIError.badRequest("name is required") }
            try await mapErrors { try await containers.rename(id(request), to: name) }
            return HTTPResponse(status: .noContent)
        }
        router.add(.POST, "/containers/prune") { _ in
            let result = try await mapErrors { try await containers.prune() }
            return .json(["ContainersDeleted": JSONValue.array(result.ids.map { .string($0) }),
                          "SpaceReclaimed": .number(Double(result.freed))])
        }
        router.add(.GET, "/containers/{id}/top") { request in
            let top = try await mapErrors { try await containers.top(id(request)) }
            return .json(["Titles": JSONValue.array(top.titles.map { .string($0) }),
                          "Processes": .array(top.processes.map { .array($0.map { .string($0) }) })])
        }
        router.add(.GET, "/containers/{id}/stats") { request in
            let stream = request.queryValue("stream").map { !["0", "false"].contains($0.lowercased()) } ?? true
            let oneShot = request.queryFlag("one-shot")
            let reference = id(request)
            _ = try await mapErrors { try await containers.find(reference) }
            if !stream {
                // Docker waits a second so the previous reading gives a CPU percentage, unless one-shot.
                let first = try await mapErrors { try await containers.stats(reference) }
                let firstSample = StatsReading.Sample(stats: first.stats, system: StatsReading.hostCPUNanoseconds())
                if oneShot { return .json(StatsReading.json(first.record, firstSample, previous: nil)) }
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                let second = try await mapErrors { try await containers.stats(reference) }
                let secondSample = StatsReading.Sample(stats: second.stats, system: StatsReading.hostCPUNanoseconds())
                return .json(StatsReading.json(second.record, secondSample, previous: firstSample))
            }
            let (chunks, continuation) = AsyncStream<ByteBuffer>.makeStream()
            let task = Task {
                var previous: StatsReading.Sample?
                while !Task.isCancelled, let reading = try? await containers.stats(reference) {
                    let sample = StatsReading.Sample(stats: reading.stats, system: StatsReading.hostCPUNanoseconds())
                    var data = (try? JSONEncoder().encode(StatsReading.json(reading.record, sample, previous: previous))) ?? Data()
                    data.append(UInt8(ascii: "\n"))
                    continuation.yield(ByteBuffer(bytes: data))
                    previous = sample
                    if !reading.record.state.isActive { break }
                    try? await Task.sleep(nanoseconds: 1_000_000_000)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
            return HTTPResponse(headers: ["Content-Type": "application/json"], body: .stream(chunks))
        }
        router.add(.POST, "/containers/{id}/exec") { request in
            let config: ExecConfig
            do {
                config = try JSONDecoder().decode(ExecConfig.self, from: Data(buffer: request.body))
            } catch {
                throw APIError.badRequest("invalid exec config: \(error)")
            }
            let execID = try await mapErrors { try await containers.createExec(id(request), config) }
            return .json(IDResponse(Id: execID), status: .created)
        }
        router.add(.POST, "/exec/{id}/start") { request in
            let start = (try? JSONDecoder().decode(ExecStartConfig.self, from: Data(buffer: request.body))) ?? ExecStartConfig()
            let exec = try await mapErrors { try await containers.exec(id(request)) }
            if start.Detach == true {
                try await mapErrors { try await containers.startExecDetached(exec.id) }
                return HTTPResponse(status: .ok)
            }
            let tty = exec.config.Tty == true
            let stdin = exec.config.AttachStdin == true
            return hijacked(request, tty: tty) { connection in
                do {
                    try await containers.startExecAttached(exec.id) { attachment in
                        try await bridge(connection, attachment, forwardInput: stdin, detachKeys: tty ? defaultDetachKeys : nil)
                    }
                } catch let error as ContainerError {
                    // The head is out; like Docker, say why in the stream, and the exit code tells the rest.
                    let entry = ContainerLogs.Entry(stream: 1, text: "\(error)\r\n", time: "")
                    try await connection.write(frame(entry, tty: tty, timestamps: false))
                }
            }
        }
        router.add(.GET, "/exec/{id}/json") { request in
            let exec = try await mapErrors { try await containers.exec(id(request)) }
            let config = exec.config
            return .json(ExecInspect(
                ID: exec.id, Running: exec.running, ExitCode: exec.exitCode.map(Int.init), tty: config.Tty == true,
                command: config.Cmd ?? [], privileged: config.Privileged == true, user: config.User ?? "",
                OpenStdin: config.AttachStdin == true, OpenStderr: config.AttachStderr == true,
                OpenStdout: config.AttachStdout == true, ContainerID: exec.containerID, Pid: Int(exec.pid)))
        }
        router.add(.POST, "/exec/{id}/resize") { request in
            guard let rows = request.queryValue("h").flatMap(Int.init), let columns = request.queryValue("w").flatMap(Int.init) else {
                throw APIError.badRequest("h and w are required")
            }
            try await mapErrors { try await containers.resizeExec(id(request), rows: rows, columns: columns) }
            return HTTPResponse(status: .ok)
        }
        router.add(.GET, "/containers/{id}/logs") { request in
            let record = try await find(request, containers)
            var options = ContainerLogs.Options()
            options.stdout = request.queryFlag("stdout")
            options.stderr = request.queryFlag("stderr")
            guard options.stdout || options.stderr else {
                throw APIError.badRequest("You must choose at least one stream")
            }
            options.follow = request.queryFlag("follow")
            options.since = request.queryValue("since").flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
            options.until = request.queryValue("until").flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
            if let tail = request.queryValue("tail"), tail != "all" { options.tail = Int(tail) }
            let timestamps = request.queryFlag("timestamps")
            let tty = record.config.Tty == true
            let logs = ContainerLogs(path: containers.paths.log(record.id))
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            let task = Task {
                func send(_ entries: [ContainerLogs.Entry]) {
                    for entry in entries {
                        continuation.yield(frame(entry, tty: tty, timestamps: timestamps))
                    }
                }
                var (entries, offset) = logs.read(options)
                send(entries)
                guard options.follow else { continuation.finish(); return }
                while !Task.isCancelled {
                    let active = (try? await containers.find(record.id))?.state.isActive ?? false
                    (entries, offset) = logs.readNew(from: offset, options)
                    send(entries)
                    if !active { break }
                    try? await Task.sleep(nanoseconds: 100_000_000)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
            let contentType = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
            return HTTPResponse(headers: ["Content-Type": contentType], body: .stream(stream))
        }
    }

    // MARK: Streams

    /// Docker's default detach sequence, Ctrl-P Ctrl-Q.
    static let defaultDetachKeys: [UInt8] = [0x10, 0x11]

    /// `ctrl-p,ctrl-q`, `ctrl-a,x`: control keys and single characters.
    static func parseDetachKeys(_ text: String) throws -> [UInt8] {
        try text.split(separator: ",").map { key in
            let lower = key.lowercased()
            if lower.hasPrefix("ctrl-"), lower.count == 6, let letter = lower.last?.asciiValue {
                switch letter {
                case UInt8(ascii: "a")...UInt8(ascii: "z"): return letter - UInt8(ascii: "a") + 1
                case UInt8(ascii: "@"): return 0
                case UInt8(ascii: "["): return 27
                case UInt8(ascii: "\\"): return 28
                case UInt8(ascii: "]"): return 29
                case UInt8(ascii: "^"): return 30
                case UInt8(ascii: "_"): return 31
                default: break
                }
            } else if key.utf8.count == 1, let byte = key.utf8.first {
                return byte
            }
            throw APIError.badRequest("Invalid detach keys (\(text)) provided")
        }
    }

    /// A 101 (or 200) head, then the connection is the handler's.
    private static func hijacked(_ request: HTTPRequest, tty: Bool,
                                 _ handler: @escaping @Sendable (HijackedConnection) async throws -> Void) -> HTTPResponse {
        var headers: HTTPHeaders = [
            "Content-Type": tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
        ]
        let upgrade = request.headers["Upgrade"].first?.lowercased() == "tcp"
        if upgrade {
            headers.add(name: "Connection", value: "Upgrade")
            headers.add(name: "Upgrade", value: "tcp")
        }
        return HTTPResponse(status: upgrade ? .switchingProtocols : .ok, headers: headers, body: .hijack(handler))
    }

    /// Output from the shim goes to the client as is (it is already Docker's framing); the
    /// client's input goes to the container until the client half-closes, or types the detach
    /// keys, which ends the session and leaves the container running with its stdin open.
    private static func bridge(_ connection: HijackedConnection, _ attachment: ShimAttachment, forwardInput: Bool,
                               detachKeys: [UInt8]?) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var output = attachment.output
                while let chunk = try await output.nextChunk() {
                    try await connection.write(chunk)
                }
            }
            group.addTask {
                var matched = 0
                while let bytes = try await connection.read() {
                    guard forwardInput else { continue }
                    guard let detachKeys else {
                        try await attachment.input.write(bytes)
                        continue
                    }
                    var forward: [UInt8] = []
                    for byte in bytes.readableBytesView {
                        if byte == detachKeys[matched] {
                            matched += 1
                            if matched == detachKeys.count { return }
                            continue
                        }
                        if matched > 0 { forward += detachKeys[0..<matched]; matched = 0 }
                        forward.append(byte)
                    }
                    if !forward.isEmpty { try await attachment.input.write(ByteBuffer(bytes: forward)) }
                }
                await attachment.endInput()
                // Input is over; output continues until the process ends.
                try await Task.sleep(nanoseconds: .max)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Docker's 8-byte header per entry unless the container has a tty.
    static func frame(_ entry: ContainerLogs.Entry, tty: Bool, timestamps: Bool) -> ByteBuffer {
        let text = timestamps ? entry.time + " " + entry.text : entry.text
        var buffer = ByteBuffer()
        if !tty {
            buffer.writeInteger(entry.stream)
            buffer.writeBytes([0, 0, 0])
            buffer.writeInteger(UInt32(text.utf8.count), endianness: .big)
        }
        buffer.writeString(text)
        return buffer
    }

    // MARK: Shapes

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
                StartedAt: ContainerTime.rfc3339(state.startedAt), FinishedAt: ContainerTime.rfc3339(state.finishedAt)),
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
            endpoints[attachment.networkName] = .object([
                "IPAMConfig": attachment.requestedAddress.map { .object(["IPv4Address": .string($0.description)]) } ?? .null,
                "Links": .null, "Aliases": attachment.aliases.isEmpty ? .null : strings(attachment.aliases),
                "NetworkID": .string(attachment.networkID),
                "EndpointID": .string(attachment.address == nil ? "" : endpointID(record.id, attachment.networkID)),
                "Gateway": .string(gateway), "IPAddress": .string(address), "IPPrefixLen": .number(prefix),
                "IPv6Gateway": .string(""), "GlobalIPv6Address": .string(""), "GlobalIPv6PrefixLen": .number(0),
                "MacAddress": .string(attachment.macAddress ?? ""), "DriverOpts": .null,
                "DNSNames": network?.hasNameServer == true ? strings(names) : .null,
            ])
            if network?.isDefault == true {
                settings["IPAddress"] = .string(address)
                settings["Gateway"] = .string(gateway)
                settings["IPPrefixLen"] = .number(prefix)
                settings["MacAddress"] = .string(attachment.macAddress ?? "")
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
            return state.status == .paused ? up + " (Paused)" : up
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
            case "ancestor": ok = values.contains { $0 == record.imageName || record.imageID.contains($0) }
            case "label":
                ok = values.allSatisfy { LabelFilter.matches($0, in: record.config.Labels ?? [:]) }
            default: ok = true
            }
            if !ok { return false }
        }
        return true
    }

    // MARK: Helpers

    /// `X-Docker-Container-Path-Stat`: the stat as base64 JSON.
    static func pathStatHeader(_ stat: RootedFiles.PathStat) -> String {
        let json: JSONValue = .object([
            "name": .string(stat.name), "size": .number(Double(stat.size)), "mode": .number(Double(stat.mode)),
            "mtime": .string(ContainerTime.rfc3339(stat.modified)), "linkTarget": .string(stat.linkTarget),
        ])
        return ((try? JSONEncoder().encode(json)) ?? Data()).base64EncodedString()
    }

    private static func id(_ request: HTTPRequest) -> String { request.parameters["id"] ?? "" }

    private static func find(_ request: HTTPRequest, _ containers: ContainerService) async throws -> ContainerRecord {
        try await mapErrors { try await containers.find(id(request)) }
    }

    static func parseSignal(_ text: String) throws -> Int32 {
        guard let signal = ContainerService.signal(named: text) else { throw APIError.badRequest("Invalid signal: \(text)") }
        return signal
    }

    @discardableResult
    static func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ContainerError {
            switch error {
            case .notFound(let message): throw APIError(.notFound, message)
            case .conflict(let message): throw APIError(.conflict, message)
            case .invalid(let message): throw APIError(.badRequest, message)
            case .notModified: throw APIError(.notModified, "")
            case .startFailed(let code, let message):
                // Docker answers 400 for a command that cannot run, 500 for other setup failures.
                throw APIError(code == 126 || code == 127 ? .badRequest : .internalServerError, message)
            }
        } catch let error as ShimError {
            throw APIError(.internalServerError, error.description)
        } catch let error as RootedFilesError {
            throw APIError(.notFound, error.description)
        } catch let error as ArchiveError {
            throw APIError(.badRequest, error.description)
        }
    }
}
