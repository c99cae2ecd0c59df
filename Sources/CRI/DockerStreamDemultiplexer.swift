import NIOCore

/// Docker's multiplexed stream (an 8-byte header per frame: the stream, three zero bytes, then
/// the payload's length) split back into standard output and standard error, chunk by chunk as
/// they arrive: a frame may span chunks.
struct DockerStreamDemultiplexer {
    enum Stream: Sendable { case stdout, stderr }

    private var pending = ByteBuffer()

    /// The whole frames `chunk` completes, in order.
    mutating func split(_ chunk: ByteBuffer) -> [(Stream, ByteBuffer)] {
        var chunk = chunk
        pending.writeBuffer(&chunk)
        var frames: [(Stream, ByteBuffer)] = []
        while let (kind, length) = pending.getMultipleIntegers(at: pending.readerIndex, as: (UInt32, UInt32).self),
              pending.readableBytes >= 8 + Int(length) {
            pending.moveReaderIndex(forwardBy: 8)
            let payload = pending.readSlice(length: Int(length))!
            frames.append((kind >> 24 == 2 ? .stderr : .stdout, payload))
        }
        pending.discardReadBytes()
        return frames
    }
}
