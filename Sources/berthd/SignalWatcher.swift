import Dispatch
import Foundation

/// Turns SIGTERM/SIGINT into a shutdown request and SIGHUP into a reload request.
/// The dispatch sources are set up once in `init` and never touched again.
final class SignalWatcher: @unchecked Sendable {
    enum Request: Sendable { case shutdown(signal: Int32), reload }

    let requests: AsyncStream<Request>
    private let sources: [DispatchSourceSignal]

    init() {
        let (stream, continuation) = AsyncStream<Request>.makeStream()
        requests = stream
        var sources: [DispatchSourceSignal] = []
        for (signalNumber, request) in [(SIGTERM, Request.shutdown(signal: SIGTERM)), (SIGINT, .shutdown(signal: SIGINT)), (SIGHUP, .reload)] {
            // The default actions would kill the process before we could clean up.
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield(request) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }
}
