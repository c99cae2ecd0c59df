import APIModels
import Engine
import Foundation
import OCI
import NIOCore

/// Turns pull and push progress into Docker's JSON lines (the docker CLI draws its bars from them).
final class ProgressRenderer: Sendable {
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    init(continuation: AsyncStream<ByteBuffer>.Continuation) {
        self.continuation = continuation
    }

    func emit(_ message: ProgressMessage) {
        guard var data = try? encoder.encode(message) else { return }
        data.append(UInt8(ascii: "\n"))
        continuation.yield(ByteBuffer(bytes: data))
    }

    /// A per-layer status line without byte counts.
    func emit(_ status: String, layer digest: Digest) {
        emit(ProgressMessage(status: status, id: digest.shortID, detail: .init()))
    }

    func render(_ progress: PullProgress) {
        switch progress {
        case .started:
            break
        case .layerQueued(let digest):
            emit("Pulling fs layer", layer: digest)
        case .layerPresent(let digest):
            emit("Already exists", layer: digest)
        case .downloading(let digest, let current, let total):
            emit(ProgressMessage(status: "Downloading", id: digest.shortID, detail: .init(current: current, total: total),
                                 progress: Self.bar(current: current, total: total)))
        case .downloaded(let digest):
            emit("Verifying Checksum", layer: digest)
            emit("Download complete", layer: digest)
        case .extracting(let digest):
            emit("Extracting", layer: digest)
        case .layerDone(let digest):
            emit("Pull complete", layer: digest)
        case .finished(let digest, let reference, let newImage):
            emit(ProgressMessage(status: "Digest: \(digest)"))
            emit(ProgressMessage(status: newImage ? "Status: Downloaded newer image for \(reference)"
                                                  : "Status: Image is up to date for \(reference)"))
        }
    }

    /// `[=====>      ]  1.2MB/3.4MB`, Docker's bar.
    static func bar(current: Int64, total: Int64) -> String {
        let width = 50
        let filled = total > 0 ? min(width, Int(Double(current) / Double(total) * Double(width))) : 0
        let arrow = String(repeating: "=", count: max(0, filled - 1)) + (filled > 0 ? ">" : "")
        let padding = String(repeating: " ", count: width - arrow.count)
        return "[\(arrow)\(padding)] \(humanSize(current))/\(humanSize(total))"
    }

    static func humanSize(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return String(format: unit == 0 ? "%.0f%@" : "%.3g%@", value, units[unit])
    }
}

extension ProgressRenderer {
    func render(_ progress: PushProgress) {
        switch progress {
        case .preparing(let digest):
            emit("Preparing", layer: digest)
        case .pushing(let digest, let current, let total):
            emit(ProgressMessage(status: "Pushing", id: digest.shortID, detail: .init(current: current, total: total),
                                 progress: Self.bar(current: current, total: total)))
        case .pushed(let digest):
            emit("Pushed", layer: digest)
        case .alreadyExists(let digest):
            emit("Layer already exists", layer: digest)
        case .mounted(let digest, let source):
            emit("Mounted from \(source)", layer: digest)
        case .finished(let tag, let digest, let size):
            emit(ProgressMessage(status: "\(tag): digest: \(digest) size: \(size)"))
        }
    }
}
