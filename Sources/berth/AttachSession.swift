import APIClient
import Foundation
import NIOCore

/// Copies a hijacked container stream to this terminal and, with -i, this terminal to it.
/// With a tty the terminal goes raw, and Ctrl-P Ctrl-Q detaches.
struct AttachSession {
    enum Outcome { case ended, detached }

    let stream: HijackedStream
    let tty: Bool
    let forwardInput: Bool
    /// Sends this terminal's size (rows, columns) to the container's tty: at once and on SIGWINCH.
    var resize: (@Sendable (Int, Int) async -> Void)?

    private static let detachKeys: [UInt8] = [0x10, 0x11]

    func run() async throws -> Outcome {
        let terminal = tty && forwardInput && isatty(STDIN_FILENO) == 1 ? RawTerminal() : nil
        defer { terminal?.restore() }
        let windowChanges = tty ? WindowSizeWatcher(resize) : nil
        defer { windowChanges?.stop() }
        let stream = self.stream
        let tty = self.tty
        let detachable = terminal != nil
        // The first of: output ends, or the detach keys. Input is read by a task nobody waits
        // for: a read of a terminal cannot be cancelled, and must not keep the command alive.
        let (outcomes, report) = AsyncStream<Outcome>.makeStream()
        let output = Task {
            var demux = StreamDemultiplexer(tty: tty)
            while let chunk = try? await stream.read() { demux.feed(chunk) }
            report.yield(.ended)
        }
        let input = forwardInput ? Task.detached {
            var matched = 0
            while let bytes = await Self.readStandardInput() {
                var forward: [UInt8] = []
                for byte in bytes {
                    if detachable, byte == Self.detachKeys[matched] {
                        matched += 1
                        if matched == Self.detachKeys.count { report.yield(.detached); return }
                        continue
                    }
                    if matched > 0 { forward += Self.detachKeys[0..<matched]; matched = 0 }
                    forward.append(byte)
                }
                if !forward.isEmpty { try? await stream.write(ByteBuffer(bytes: forward)) }
            }
            stream.closeInput()
        } : nil
        var outcome = Outcome.ended
        for await first in outcomes {
            outcome = first
            break
        }
        output.cancel()
        input?.cancel()
        await stream.close()
        if outcome == .detached { FileHandle.standardError.write(Data("\r\nread escape sequence\r\n".utf8)) }
        return outcome
    }

    /// One read of standard input off the cooperative pool; nil at end of input.
    private static func readStandardInput() async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var buffer = [UInt8](repeating: 0, count: 65536)
                let count = read(STDIN_FILENO, &buffer, buffer.count)
                continuation.resume(returning: count > 0 ? Array(buffer[0..<count]) : nil)
            }
        }
    }
}

/// Reports the terminal's size now and whenever it changes.
final class WindowSizeWatcher: @unchecked Sendable {
    private let source: DispatchSourceSignal?

    /// The terminal's size as Docker's `ConsoleSize` (`[rows, columns]`), sent with a creation so the
    /// process starts at the right size; nil without a terminal.
    static var consoleSize: [Int]? {
        var size = winsize()
        guard isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return nil }
        return [Int(size.ws_row), Int(size.ws_col)]
    }

    init?(_ resize: (@Sendable (Int, Int) async -> Void)?) {
        guard let resize, isatty(STDOUT_FILENO) == 1 else { return nil }
        @Sendable func report() {
            guard let size = Self.consoleSize else { return }
            Task { await resize(size[0], size[1]) }
        }
        signal(SIGWINCH, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        source.setEventHandler(handler: report)
        source.resume()
        self.source = source
        report()
    }

    func stop() {
        source?.cancel()
    }
}

/// Puts the terminal in raw mode until restored.
final class RawTerminal {
    private var original = termios()

    init() {
        tcgetattr(STDIN_FILENO, &original)
        var raw = original
        cfmakeraw(&raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
    }

    func restore() {
        tcsetattr(STDIN_FILENO, TCSANOW, &original)
    }
}

/// Splits Docker's multiplexed stream (8-byte headers: stream, 0, 0, 0, big-endian size) onto
/// stdout and stderr; a tty stream is raw and goes to stdout.
struct StreamDemultiplexer {
    let tty: Bool
    private var pending = ByteBuffer()

    init(tty: Bool) {
        self.tty = tty
    }

    mutating func feed(_ chunk: ByteBuffer) {
        if tty {
            write(chunk.readableBytesView, to: STDOUT_FILENO)
            return
        }
        var chunk = chunk
        pending.writeBuffer(&chunk)
        while pending.readableBytes >= 8 {
            let start = pending.readerIndex
            guard let stream = pending.getInteger(at: start, as: UInt8.self),
                  let size = pending.getInteger(at: start + 4, endianness: .big, as: UInt32.self),
                  pending.readableBytes >= 8 + Int(size) else { break }
            pending.moveReaderIndex(forwardBy: 8)
            let payload = pending.readSlice(length: Int(size))!
            write(payload.readableBytesView, to: stream == 2 ? STDERR_FILENO : STDOUT_FILENO)
        }
        pending.discardReadBytes()
    }

    private func write(_ bytes: ByteBufferView, to fd: Int32) {
        let data = Array(bytes)
        var offset = 0
        while offset < data.count {
            let written = data[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }
}
