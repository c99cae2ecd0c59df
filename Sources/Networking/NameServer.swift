import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A user-defined network's name server, on its gateway's port 53: it answers for the names and
/// aliases of the network's running containers, and passes every other question to the host's own
/// resolver, relaying its answer (Docker's embedded DNS, reached here without a per-container redirect).
public final class NameServer: Sendable {
    private let records: NIOLockedValueBox<NameServer.Table>
    private let channel: Channel
    private let upstreamChannel: Channel?

    /// Serves on `address`:53; `upstream` is where other names are asked (the host's first nameserver).
    public static func start(on address: IPv4Address, upstream: IPv4Address?) async throws -> NameServer {
        let group = MultiThreadedEventLoopGroup.singleton
        let pending = NIOLockedValueBox<[UInt16: (id: UInt16, client: SocketAddress)]>([:])
        let records = NIOLockedValueBox<NameServer.Table>(NameServer.Table())
        let upstreamAddress = try upstream.map { try SocketAddress(ipAddress: $0.description, port: 53) }
        var upstreamChannel: Channel?
        let serverChannel = NIOLockedValueBox<Channel?>(nil)
        if upstreamAddress != nil {
            upstreamChannel = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(UpstreamHandler(pending: pending, reply: { serverChannel.withLockedValue { $0 } }))
                    }
                }
                .bind(host: "0.0.0.0", port: 0).get()
        }
        let forward = upstreamChannel
        let server: Channel
        do {
            server = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            QueryHandler(records: records, pending: pending, upstream: forward.flatMap { channel in
                                upstreamAddress.map { (channel, $0) }
                            }))
                    }
                }
                .bind(host: address.description, port: 53).get()
        } catch {
            try? await upstreamChannel?.close()
            throw error
        }
        serverChannel.withLockedValue { $0 = server }
        return NameServer(channel: server, upstreamChannel: upstreamChannel, records: records)
    }

    private init(channel: Channel, upstreamChannel: Channel?, records: NIOLockedValueBox<NameServer.Table>) {
        self.channel = channel
        self.upstreamChannel = upstreamChannel
        self.records = records
    }

    /// Replaces what the server answers: lowercased names to addresses.
    /// What one name resolves to on the network.
    public struct Addresses: Sendable, Equatable {
        public var ipv4: [IPv4Address] = []
        public var ipv6: [IPv6Address] = []
        public init() {}
    }

    /// What the server answers: names for every client, and names only a client at a given address
    /// sees (its legacy links' aliases), which win for it.
    struct Table: Sendable {
        var names: [String: Addresses] = [:]
        var perClient: [String: [String: Addresses]] = [:]
    }

    public func setRecords(_ table: [String: Addresses], perClient: [IPv4Address: [String: Addresses]] = [:]) {
        records.withLockedValue {
            $0 = Table(names: table, perClient: Dictionary(uniqueKeysWithValues: perClient.map { ($0.key.description, $0.value) }))
        }
    }

    public func stop() async {
        try? await channel.close()
        try? await upstreamChannel?.close()
    }
}

private final class QueryHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let records: NIOLockedValueBox<NameServer.Table>
    let pending: NIOLockedValueBox<[UInt16: (id: UInt16, client: SocketAddress)]>
    let upstream: (Channel, SocketAddress)?

    init(records: NIOLockedValueBox<NameServer.Table>, pending: NIOLockedValueBox<[UInt16: (id: UInt16, client: SocketAddress)]>,
         upstream: (Channel, SocketAddress)?) {
        self.records = records
        self.pending = pending
        self.upstream = upstream
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        guard let query = DNSQuery(bytes) else { return }
        let reply: [UInt8]
        let client = envelope.remoteAddress.ipAddress ?? ""
        if let addresses = records.withLockedValue({ $0.perClient[client]?[query.name] ?? $0.names[query.name] }) {
            reply = query.answer(addresses.ipv4, ipv6: addresses.ipv6)
        } else if let (channel, server) = upstream {
            // A fresh id per relayed question, so answers find their way back whoever asked.
            let relayed = pending.withLockedValue { table -> [UInt8] in
                if table.count > 4096 { table.removeAll() }
                var id = UInt16.random(in: 0...UInt16.max)
                while table[id] != nil { id = UInt16.random(in: 0...UInt16.max) }
                table[id] = (query.id, envelope.remoteAddress)
                var copy = bytes
                copy[0] = UInt8(id >> 8)
                copy[1] = UInt8(id & 0xff)
                return copy
            }
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: channel.allocator.buffer(bytes: relayed)), promise: nil)
            return
        } else {
            reply = query.answer([], code: 2)
        }
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress,
                                                                data: context.channel.allocator.buffer(bytes: reply))), promise: nil)
    }
}

private final class UpstreamHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let pending: NIOLockedValueBox<[UInt16: (id: UInt16, client: SocketAddress)]>
    let reply: @Sendable () -> Channel?

    init(pending: NIOLockedValueBox<[UInt16: (id: UInt16, client: SocketAddress)]>, reply: @escaping @Sendable () -> Channel?) {
        self.pending = pending
        self.reply = reply
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Array(unwrapInboundIn(data).data.readableBytesView)
        guard bytes.count >= 12, let server = reply() else { return }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard let asker = pending.withLockedValue({ $0.removeValue(forKey: id) }) else { return }
        bytes[0] = UInt8(asker.id >> 8)
        bytes[1] = UInt8(asker.id & 0xff)
        server.writeAndFlush(AddressedEnvelope(remoteAddress: asker.client, data: server.allocator.buffer(bytes: bytes)), promise: nil)
    }
}
