import APIModels
import Engine
import Foundation
import Logging
import NIOCore
import SPDY

/// One exec or attach over SPDY (protocol v4.channel.k8s.io): the client opens an error stream and
/// one per standard stream it carries, the command runs with them, and the error stream carries
/// how it ended before the connection closes.
struct RemoteCommandSession {
    let request: StreamingRequest
    let containers: ContainerService
    let logger: Logger

    /// As long as kubelet waits for a client's streams.
    static let streamCreationTimeout: Duration = .seconds(30)

    /// The client's streams, by type.
    struct Streams: Sendable {
        var error: SPDYStream
        var stdin: SPDYStream?
        var stdout: SPDYStream?
        var stderr: SPDYStream?
        var resize: SPDYStream?
    }

    func run(on connection: SPDYConnection) async {
        let wanted: RemoteCommandStreams
        switch request {
        case .exec(_, _, let streams), .attach(_, let streams): wanted = streams
        case .portForward: return
        }
        guard let streams = await Self.gather(wanted.expectedTypes, from: connection) else {
            logger.warning("CRI stream: the client did not open its streams in time")
            await connection.close()
            return
        }
        let status: RemoteCommandStatus
        do {
            status = try await runCommand(streams, tty: wanted.tty)
        } catch {
            status = .failed("\(error)")
        }
        try? await streams.stdout?.finish()
        try? await streams.stderr?.finish()
        try? await streams.error.write(ByteBuffer(bytes: status.json))
        try? await streams.error.finish()
        await connection.close()
    }

    /// Waits for one stream of each expected type; nil if they do not all come in time.
    static func gather(_ expected: Set<String>, from connection: SPDYConnection) async -> Streams? {
        await withTaskGroup(of: Streams?.self) { group in
            group.addTask {
                var found: [String: SPDYStream] = [:]
                for await stream in connection.incomingStreams {
                    guard let type = stream.headers["streamtype"], expected.contains(type), found[type] == nil else {
                        await stream.reset(.refusedStream)
                        continue
                    }
                    found[type] = stream
                    if Set(found.keys) == expected, let error = found["error"] {
                        return Streams(error: error, stdin: found["stdin"], stdout: found["stdout"], stderr: found["stderr"],
                                       resize: found["resize"])
                    }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: streamCreationTimeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func runCommand(_ streams: Streams, tty: Bool) async throws -> RemoteCommandStatus {
        switch request {
        case .exec(let containerID, let command, let wanted):
            var config = ExecConfig()
            config.Cmd = command
            config.AttachStdin = wanted.stdin
            config.AttachStdout = wanted.stdout
            config.AttachStderr = wanted.stderr && !wanted.tty
            config.Tty = wanted.tty
            let execID = try await containers.createExec(containerID, config)
            let containers = containers
            try await containers.startExecAttached(execID) { attachment in
                await Self.relay(attachment, streams, tty: tty) { rows, columns in
                    try? await containers.resizeExec(execID, rows: rows, columns: columns)
                }
                return false
            }
            return .exit(try await containers.exec(execID).exitCode)
        case .attach(let containerID, let wanted):
            let containers = containers
            try await containers.attach(containerID, stdin: wanted.stdin, stdout: wanted.stdout, stderr: wanted.stderr && !wanted.tty) { attachment in
                await Self.relay(attachment, streams, tty: tty) { rows, columns in
                    try? await containers.resize(containerID, rows: rows, columns: columns)
                }
            }
            return .success
        case .portForward:
            return .failed("not a remote command")
        }
    }

    /// Carries the client's input and terminal sizes in, and the output out, until the output ends
    /// or the client can no longer take it.
    private static func relay(_ attachment: ContainerAttachment, _ streams: Streams, tty: Bool,
                              resize: @escaping @Sendable (Int, Int) async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            if let stdin = streams.stdin {
                group.addTask {
                    for await chunk in stdin.inbound {
                        guard (try? await attachment.write(chunk)) != nil else { break }
                    }
                    await attachment.endInput()
                }
            }
            if let sizes = streams.resize {
                group.addTask {
                    var lines = TerminalSizeReader()
                    for await chunk in sizes.inbound {
                        for size in lines.sizes(in: chunk) { await resize(size.height, size.width) }
                    }
                }
            }
            var output = attachment.output
            var demultiplexer = DockerStreamDemultiplexer()
            outputLoop: while let chunk = try? await output.next() {
                let pieces: [(DockerStreamDemultiplexer.Stream, ByteBuffer)] = tty ? [(.stdout, chunk)] : demultiplexer.split(chunk)
                for (stream, payload) in pieces {
                    guard let target = stream == .stderr ? streams.stderr : streams.stdout else { continue }
                    guard (try? await target.write(payload)) != nil else { break outputLoop }
                }
            }
            group.cancelAll()
        }
    }
}

/// Terminal sizes from a resize stream: JSON objects such as {"Width":80,"Height":24}, one per line.
struct TerminalSizeReader {
    struct Size: Decodable, Equatable {
        let width: Int
        let height: Int

        enum CodingKeys: String, CodingKey {
            case width = "Width", height = "Height"
        }
    }

    private var pending: [UInt8] = []

    /// The sizes whose lines `chunk` completes; a line that is no size is skipped.
    mutating func sizes(in chunk: ByteBuffer) -> [Size] {
        pending += chunk.readableBytesView
        var sizes: [Size] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Data(pending[..<newline])
            pending.removeSubrange(...newline)
            if let size = try? JSONDecoder().decode(Size.self, from: line) { sizes.append(size) }
        }
        return sizes
    }
}
