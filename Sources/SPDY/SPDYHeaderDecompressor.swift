import CZlib
import NIOCore

/// Inflates the peer's header blocks: one zlib stream for the connection's life, which asks for the
/// SPDY dictionary at its start.
final class SPDYHeaderDecompressor {
    /// Far above any real block (Kubernetes' have a handful of short headers), far below harm.
    static let maximumBlockLength = 256 * 1024

    private let stream: UnsafeMutablePointer<z_stream>

    init() throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard berth_inflate_init(stream) == Z_OK else {
            stream.deallocate()
            throw SPDYError.compression(Z_STREAM_ERROR)
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// The headers in one frame's compressed block.
    func decompress(_ block: ByteBuffer) throws -> SPDYHeaders {
        var input = Array(block.readableBytesView)
        var output = ByteBuffer()
        var chunk = [UInt8](repeating: 0, count: 4096)
        try input.withUnsafeMutableBufferPointer { input in
            stream.pointee.next_in = input.baseAddress
            stream.pointee.avail_in = uInt(input.count)
            defer { stream.pointee.next_in = nil }
            while true {
                let produced = try chunk.withUnsafeMutableBufferPointer { chunk -> Int in
                    stream.pointee.next_out = chunk.baseAddress
                    stream.pointee.avail_out = uInt(chunk.count)
                    var status = inflate(stream, Z_SYNC_FLUSH)
                    if status == Z_NEED_DICT {
                        status = SPDYHeaderDictionary.bytes.withUnsafeBufferPointer {
                            inflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
                        }
                        guard status == Z_OK else { throw SPDYError.compression(status) }
                        status = inflate(stream, Z_SYNC_FLUSH)
                    }
                    guard status == Z_OK || status == Z_BUF_ERROR else { throw SPDYError.compression(status) }
                    return chunk.count - Int(stream.pointee.avail_out)
                }
                output.writeBytes(chunk[0..<produced])
                guard output.readableBytes <= Self.maximumBlockLength else { throw SPDYError.headerBlockTooLarge }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { break }
                if produced == 0 && stream.pointee.avail_in != 0 && stream.pointee.avail_out != 0 {
                    throw SPDYError.malformedHeaderBlock
                }
            }
        }
        return try SPDYHeaders.decoding(output)
    }
}
