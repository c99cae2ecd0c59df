import APIModels
import Engine
import Foundation
import NIOCore
import NIOHTTP1

extension ContainerRoutes {
    /// Attach, logs, stats and terminal size: the streams of a container.
    static func registerStreams(on router: inout Router, containers: ContainerService) {
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
            if !record.state.status.isAttachable, !request.queryFlag("logs") {
                throw APIError(.conflict, "You cannot attach to a stopped container, start it first")
            }
            let detachKeys = try request.queryValue("detachKeys").map(parseDetachKeys) ?? defaultDetachKeys
            // `logs`: what the container printed so far comes first; `stream=0` ends the session there.
            let replaysLogs = request.queryFlag("logs") && record.hostConfig.LogConfig?.Type != "none"
            let streams = request.queryValue("stream").map { !["0", "false"].contains($0.lowercased()) } ?? true
            return hijacked(request, tty: tty) { connection in
                if replaysLogs {
                    var options = ContainerLogs.Options()
                    options.stdout = stdout
                    options.stderr = stderr
                    for entry in ContainerLogs(path: containers.paths.log(of: record)).read(options).entries {
                        try await connection.write(frame(entry, tty: tty, timestamps: false))
                    }
                }
                guard streams, (try? await containers.find(record.id))?.state.status.isAttachable ?? false else { return }
                try await containers.attach(record.id, stdin: stdin, stdout: stdout, stderr: stderr) { attachment in
                    _ = try await bridge(connection, attachment, forwardInput: stdin, detachKeys: stdin ? detachKeys : nil)
                }
            }
        }
        router.add(.GET, "/containers/{id}/stats") { request in
            let stream = request.queryValue("stream").map { !["0", "false"].contains($0.lowercased()) } ?? true
            let oneShot = request.queryFlag("one-shot")
            let reference = id(request)
            _ = try await mapErrors { try await containers.find(reference) }
            if !stream {
                // Docker waits a second so the previous reading gives a CPU percentage, unless one-shot.
                let first = try await mapErrors { try await containers.stats(reference) }
                let firstSample = StatsReading.Sample(usage: first.usage, system: StatsReading.hostCPUNanoseconds())
                if oneShot { return .json(StatsReading.json(first.record, firstSample, previous: nil)) }
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                let second = try await mapErrors { try await containers.stats(reference) }
                let secondSample = StatsReading.Sample(usage: second.usage, system: StatsReading.hostCPUNanoseconds())
                return .json(StatsReading.json(second.record, secondSample, previous: firstSample))
            }
            let (chunks, continuation) = AsyncStream<ByteBuffer>.makeStream()
            let task = Task {
                var previous: StatsReading.Sample?
                while !Task.isCancelled, let reading = try? await containers.stats(reference) {
                    let sample = StatsReading.Sample(usage: reading.usage, system: StatsReading.hostCPUNanoseconds())
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
        router.add(.GET, "/containers/{id}/logs") { request in
            let record = try await find(request, containers)
            guard record.hostConfig.LogConfig?.Type != "none" else {
                throw APIError.badRequest("configured logging driver does not support reading")
            }
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
            let logs = ContainerLogs(path: containers.paths.log(of: record))
            // A few batches in flight at most: a client slower than the log holds the reading back
            // rather than berthd's memory growing with what it has not taken yet.
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingOldest(4))
            let task = Task {
                // One buffer per read: a log written at full speed is followed at full speed.
                func send(_ entries: [ContainerLogs.Entry]) async {
                    guard !entries.isEmpty else { return }
                    var batch = ByteBuffer()
                    for entry in entries {
                        var framed = frame(entry, tty: tty, timestamps: timestamps)
                        batch.writeBuffer(&framed)
                    }
                    while case .dropped = continuation.yield(batch), !Task.isCancelled {
                        try? await Task.sleep(nanoseconds: 5_000_000)
                    }
                }
                let (entries, offset) = logs.read(options)
                await send(entries)
                guard options.follow else { continuation.finish(); return }
                let follower = LogFollower(logs, from: offset, options: options)
                while !Task.isCancelled {
                    let active = (try? await containers.find(record.id))?.state.isActive ?? false
                    let new = follower.next()
                    await send(new)
                    if !active { break }
                    // Straight on while lines keep coming; otherwise a look every 100 ms.
                    if new.isEmpty { try? await Task.sleep(nanoseconds: 100_000_000) }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
            let contentType = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
            return HTTPResponse(headers: ["Content-Type": contentType], body: .stream(stream))
        }
    }

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
    static func hijacked(_ request: HTTPRequest, tty: Bool,
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

    /// Output from the shim goes to the client as is (it is already Docker's framing), or, with
    /// `framingTTYOutput`, a tty's raw output in stdout frames; the client's input goes to the
    /// container until the client half-closes, or types the detach keys, which ends the session and
    /// leaves the container running with its stdin open.
    /// Returns true when the client detached, false when the output ended.
    @discardableResult
    static func bridge(_ connection: HijackedConnection, _ attachment: ContainerAttachment, forwardInput: Bool,
                       detachKeys: [UInt8]?, framingTTYOutput: Bool = false) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                var output = attachment.output
                while var chunk = try await output.next() {
                    if framingTTYOutput {
                        var framed = ByteBuffer()
                        framed.writeBytes([1, 0, 0, 0])
                        framed.writeInteger(UInt32(chunk.readableBytes), endianness: .big)
                        framed.writeBuffer(&chunk)
                        chunk = framed
                    }
                    try await connection.write(chunk)
                }
                return false
            }
            group.addTask {
                var matched = 0
                while let bytes = try await connection.read() {
                    guard forwardInput else { continue }
                    guard let detachKeys else {
                        try await attachment.write(bytes)
                        continue
                    }
                    var forward: [UInt8] = []
                    for byte in bytes.readableBytesView {
                        if byte == detachKeys[matched] {
                            matched += 1
                            if matched == detachKeys.count { return true }
                            continue
                        }
                        if matched > 0 { forward += detachKeys[0..<matched]; matched = 0 }
                        forward.append(byte)
                    }
                    if !forward.isEmpty { try await attachment.write(ByteBuffer(bytes: forward)) }
                }
                await attachment.endInput()
                // Input is over; output continues until the process ends.
                try await Task.sleep(nanoseconds: .max)
                return false
            }
            let detached = try await group.next() ?? false
            group.cancelAll()
            return detached
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
}
