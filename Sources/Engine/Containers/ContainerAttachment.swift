import NIOCore
import NativeRuntime

/// A client's session on a container's (or an exec's) stdio: the output already in Docker's
/// framing, as it arrives, and the process's input.
public struct ContainerAttachment: Sendable {
    private let session: ShimAttachment

    init(_ session: ShimAttachment) {
        self.session = session
    }

    /// The output from the start of the session; read it from one task.
    public var output: Output { Output(session.output) }

    /// Bytes for the process's standard input.
    public func write(_ bytes: ByteBuffer) async throws {
        do {
            try await session.input.write(bytes)
        } catch {
            throw ContainerError.translating(error)
        }
    }

    /// The client's input is over (the process's stdin ends too when it was attached once).
    public func endInput() async {
        await session.endInput()
    }

    /// The output stream, in chunks.
    public struct Output: Sendable {
        private var reader: LineReader

        init(_ reader: LineReader) {
            self.reader = reader
        }

        /// The next chunk, nil at the end of the output.
        public mutating func next() async throws -> ByteBuffer? {
            do {
                return try await reader.nextChunk()
            } catch {
                throw ContainerError.translating(error)
            }
        }
    }
}
