import APIModels
import Foundation

/// Shows Docker progress messages: on a terminal one live line per layer (bars redrawn in place),
/// otherwise plain lines, one per change of status, without the byte-by-byte bars.
final class ProgressDisplay {
    private let interactive: Bool
    private var order: [String] = []
    private var lines: [String: String] = [:]
    private var printedStatus: [String: String] = [:]
    private var drawnLines = 0
    private var lastDraw = Date.distantPast

    init(interactive: Bool = isatty(STDOUT_FILENO) != 0) {
        self.interactive = interactive
    }

    func show(_ message: ProgressMessage) {
        guard let status = message.status else { return }
        guard let id = message.id else {
            finishLayers()
            print(status)
            return
        }
        if interactive {
            if lines[id] == nil { order.append(id) }
            lines[id] = "\(id): \(status)" + (message.progress.map { " " + $0 } ?? "")
            let now = Date()
            if status != "Downloading" || now.timeIntervalSince(lastDraw) > 0.1 {
                redraw()
                lastDraw = now
            }
        } else if printedStatus[id] != status {
            printedStatus[id] = status
            print("\(id): \(status)")
        }
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
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}
