import APIModels
import Foundation

/// Shows Docker progress messages: on a terminal one live line per layer (bars redrawn in place),
/// otherwise plain lines, one per change of status, without the byte-by-byte bars. A pull that
/// `run` makes on its own shows on standard error, keeping standard output the container's.
final class ProgressDisplay {
    private let interactive: Bool
    private let destination: FileHandle
    private var order: [String] = []
    private var lines: [String: String] = [:]
    private var printedStatus: [String: String] = [:]
    private var drawnLines = 0
    private var lastDraw = Date.distantPast
    /// First sighting of each layer's transfer, for its average speed.
    private var transferStart: [String: (time: Date, bytes: Int64)] = [:]

    init(destination: FileHandle = .standardOutput) {
        self.destination = destination
        interactive = isatty(destination.fileDescriptor) != 0
    }

    /// Shows a whole stream (or, quiet, just drains it: errors still end it).
    func follow(_ messages: AsyncThrowingStream<ProgressMessage, Error>, quiet: Bool) async throws {
        for try await message in messages where !quiet {
            show(message)
        }
        finishLayers()
    }

    func show(_ message: ProgressMessage) {
        guard let status = message.status else { return }
        guard let id = message.id else {
            finishLayers()
            write(status + "\n")
            return
        }
        if interactive {
            if lines[id] == nil { order.append(id) }
            lines[id] = "\(id): \(status)" + (message.progress.map { " " + $0 } ?? "") + speed(id: id, message: message)
            let now = Date()
            if status != "Downloading" || now.timeIntervalSince(lastDraw) > 0.1 {
                redraw()
                lastDraw = now
            }
        } else if printedStatus[id] != status {
            printedStatus[id] = status
            write("\(id): \(status)\n")
        }
    }

    /// ` 12.3MB/s` while a layer moves, from its average since the first progress message.
    private func speed(id: String, message: ProgressMessage) -> String {
        guard let current = message.progressDetail?.current else { return "" }
        let now = Date()
        guard let start = transferStart[id] else {
            transferStart[id] = (now, current)
            return ""
        }
        let seconds = now.timeIntervalSince(start.time)
        guard seconds > 0.2 else { return "" }
        let rate = Double(current - start.bytes) / seconds
        return String(format: "  %.1fMB/s", rate / 1_000_000)
    }

    /// Ends the live block so later output goes below it.
    func finishLayers() {
        guard interactive, !order.isEmpty else { return }
        redraw()
        order.removeAll()
        lines.removeAll()
        drawnLines = 0
    }

    private func redraw() {
        var output = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
        for id in order {
            output += "\u{1B}[2K" + (lines[id] ?? "") + "\n"
        }
        drawnLines = order.count
        write(output)
    }

    private func write(_ text: String) {
        if destination === FileHandle.standardOutput { fflush(stdout) }
        destination.write(Data(text.utf8))
    }
}
