import ImageStore
import NIOCore
import NIOFoundationCompat
import Registry

extension BlobWriter: BlobSink {
    public func write(_ bytes: ByteBufferView) throws {
        try append(bytes)
    }
}
