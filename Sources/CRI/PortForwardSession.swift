import Engine
import Logging
import NIOCore
import NIOPosix
import SPDY

/// Port forwarding over SPDY (protocol portforward.k8s.io): for each connection the client opens
/// an error stream and a data stream, both naming the port and a request ID; the data stream's
/// bytes go to that port on the pod's loopback and back, and the error stream says why not.
struct PortForwardSession {
    let sandboxID: String
    let containers: ContainerService
    let logger: Logger

    private struct Pair {
        var error: SPDYStream?
        var data: SPDYStream?
    }

    func run(on connection: SPDYConnection) async {
        await withTaskGroup(of: Void.self) { group in
            var pairs: [String: Pair] = [:]
            for await stream in connection.incomingStreams {
                guard let requestID = stream.headers["requestid"], let type = stream.headers["streamtype"],
                      type == "error" || type == "data"
                else {
                    await stream.reset(.refusedStream)
                    continue
                }
                var pair = pairs[requestID] ?? Pair()
                if type == "error" { pair.error = stream } else { pair.data = stream }
                guard let error = pair.error, let data = pair.data else {
                    pairs[requestID] = pair
                    continue
                }
                pairs[requestID] = nil
                group.addTask { await forward(data, errors: error) }
            }
        }
        await connection.close()
    }

    /// One connection: the data stream to the port and back, until both sides have ended.
    private func forward(_ data: SPDYStream, errors: SPDYStream) async {
        do {
            guard let port = data.headers["port"].flatMap(Int.init), (1...65535).contains(port) else {
                throw ContainerError.invalid("invalid port \(data.headers["port"] ?? "")")
            }
            let socket = try await containers.connectToPort(sandboxID, port: port)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .withConnectedSocket(socket) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                    }
                }
            try await channel.executeThenClose { inbound, outbound in
                enum Side { case client, pod }
                try await withThrowingTaskGroup(of: Side.self) { group in
                    group.addTask {
                        for await chunk in data.inbound { try await outbound.write(chunk) }
                        outbound.finish()
                        return .client
                    }
                    group.addTask {
                        for try await chunk in inbound { try await data.write(chunk) }
                        try await data.finish()
                        return .pod
                    }
                    // The client half-closing leaves the pod's answer to come; the pod's side ending ends it.
                    if try await group.next() == .client { _ = try await group.next() }
                    group.cancelAll()
                }
            }
        } catch {
            logger.debug("CRI port forward to pod \(sandboxID): \(error)")
            try? await errors.write(ByteBuffer(string: "\(error)"))
            try? await data.finish()
        }
        try? await errors.finish()
    }
}
