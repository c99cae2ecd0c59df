import CZlib
import NIOCore

/// Deflates one direction's header blocks: a single zlib stream for the connection's life, primed
/// with the SPDY dictionary, each block ended with a sync flush so the peer can inflate it at once.
final class SPDYHeaderCompressor {
    private let stream: UnsafeMutablePointer<z_stream>

    init() throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard berth_deflate_init(stream, Z_DEFAULT_COMPRESSION) == Z_OK else {
            stream.deallocate()
            throw SPDYError.compression(Z_STREAM_ERROR)
        }
        let status = SPDYHeaderDictionary.bytes.withUnsafeBufferPointer {
            deflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
        }
        guard status == Z_OK else {
            deflateEnd(stream)
            stream.deallocate()
            throw SPDYError.compression(status)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// The compressed form of `headers`, continuing the connection's stream.
    func compress(_ headers: SPDYHeaders) throws -> ByteBuffer {
        var input = Array(headers.encoded().readableBytesView)
        var output = ByteBuffer()
        var chunk = [UInt8](repeating: 0, count: 4096)
        try input.withUnsafeMutableBufferPointer { input in
            stream.pointee.next_in = input.baseAddress
            stream.pointee.avail_in = uInt(input.count)
            defer { stream.pointee.next_in = nil }
            repeat {
                let produced = try chunk.withUnsafeMutableBufferPointer { chunk -> Int in
                    stream.pointee.next_out = chunk.baseAddress
                    stream.pointee.avail_out = uInt(chunk.count)
                    let status = deflate(stream, Z_SYNC_FLUSH)
                    guard status == Z_OK || status == Z_BUF_ERROR else { throw SPDYError.compression(status) }
                    return chunk.count - Int(stream.pointee.avail_out)
                }
                output.writeBytes(chunk[0..<produced])
                // A full output buffer may hide more to flush; a partly filled one means all is out.
            } while stream.pointee.avail_out == 0
        }
        return output
    }
}
