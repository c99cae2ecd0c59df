import Foundation
import NIOCore
import SPDY

/// Runs an Exec's or Attach's URL as kubectl does (SPDY, protocol v4.channel.k8s.io): input in,
/// output and errors out, and the exit code from the error stream.
public struct RemoteCommandClient: Sendable {
    public enum Output: Sendable { case stdout, stderr }

    /// Bytes for the command's standard input, ending with it; nil sends none.
    public var stdin: AsyncStream<ByteBuffer>?
    public var tty: Bool
    /// Terminal sizes (columns, rows) to send while it runs, with a terminal.
    public var terminalSizes: AsyncStream<(columns: Int, rows: Int)>?

    public init(stdin: AsyncStream<ByteBuffer>? = nil, tty: Bool = false, terminalSizes: AsyncStream<(columns: Int, rows: Int)>? = nil) {
        self.stdin = stdin
        self.tty = tty
        self.terminalSizes = terminalSizes
    }

    /// Runs the command behind `url`, passing its output to `output` as it comes; returns its exit
    /// code, or throws what the server says went wrong.
    public func run(_ url: String, output: @escaping @Sendable (Output, ByteBuffer) async -> Void) async throws -> Int32 {
        let (connection, _) = try await StreamingConnection.open(url, protocols: ["v4.channel.k8s.io"])
        do {
            let code = try await run(on: connection, output: output)
            await connection.close()
            return code
        } catch {
            await connection.close()
            throw error
        }
    }

    private func run(on connection: SPDYConnection, output: @escaping @Sendable (Output, ByteBuffer) async -> Void) async throws -> Int32 {
        // The order kubectl opens them in; the server waits for all before it starts.
        let errors = try await connection.openStream(["streamType": "error"])
        let input = stdin == nil ? nil : try await connection.openStream(["streamType": "stdin"])
        let stdout = try await connection.openStream(["streamType": "stdout"])
        let stderr = tty ? nil : try await connection.openStream(["streamType": "stderr"])
        let resize = tty ? try await connection.openStream(["streamType": "resize"]) : nil
        let stdin = stdin, terminalSizes = terminalSizes
        let status = await withTaskGroup(of: Finished.self) { group in
            if let input, let stdin {
                group.addTask {
                    for await chunk in stdin { guard (try? await input.write(chunk)) != nil else { break } }
                    try? await input.finish()
                    return .input
                }
            }
            if let resize, let terminalSizes {
                group.addTask {
                    for await size in terminalSizes {
                        let line = #"{"Width":\#(size.columns),"Height":\#(size.rows)}"# + "\n"
                        guard (try? await resize.write(ByteBuffer(string: line))) != nil else { break }
                    }
                    return .input
                }
            }
            group.addTask {
                for await chunk in stdout.inbound { await output(.stdout, chunk) }
                return .output
            }
            if let stderr {
                group.addTask {
                    for await chunk in stderr.inbound { await output(.stderr, chunk) }
                    return .output
                }
            }
            group.addTask {
                var status = Data()
                for await chunk in errors.inbound { status.append(contentsOf: chunk.readableBytesView) }
                return .status(status)
            }
            var status = Data()
            // Input and sizes may outlast the command; the output and the status mark its end.
            var pending = 2 + (stderr == nil ? 0 : 1)
            while pending > 0, let finished = await group.next() {
                switch finished {
                case .input: continue
                case .output: break
                case .status(let text): status = text
                }
                pending -= 1
            }
            group.cancelAll()
            return status
        }
        return try Self.exitCode(from: status)
    }

    private enum Finished: Sendable {
        case input, output
        case status(Data)
    }

    /// The exit code a v4 status means: 0 for success, the code of a non-zero exit, an error otherwise.
    static func exitCode(from status: Data) throws -> Int32 {
        guard !status.isEmpty else { return 0 }
        guard let object = try? JSONSerialization.jsonObject(with: status) as? [String: Any] else {
            throw StreamingClientError.badResponse("error stream: \(String(decoding: status, as: UTF8.self))")
        }
        if object["status"] as? String == "Success" { return 0 }
        if object["reason"] as? String == "NonZeroExitCode",
           let causes = (object["details"] as? [String: Any])?["causes"] as? [[String: Any]],
           let code = causes.first(where: { $0["reason"] as? String == "ExitCode" })?["message"] as? String,
           let exit = Int32(code) {
            return exit
        }
        throw StreamingClientError.failed(object["message"] as? String ?? "the command failed")
    }
}
