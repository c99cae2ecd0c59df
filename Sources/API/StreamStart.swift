import NIOConcurrencyHelpers

/// Holds a streamed answer back until its work has got far enough to succeed (`open`) or has
/// failed first (`fail`), so an early failure is an error status rather than a line in a stream.
final class StreamStart: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Void, Error>?)
        case opened
        case failed(Error)
    }

    private let state = NIOLockedValueBox(State.waiting(nil))

    func open() {
        let waiter: CheckedContinuation<Void, Error>? = state.withLockedValue { state in
            guard case .waiting(let waiter) = state else { return nil }
            state = .opened
            return waiter
        }
        waiter?.resume()
    }

    /// Records the failure when the answer has not started; false when it has (the caller then
    /// reports it in the stream).
    func fail(_ error: Error) -> Bool {
        let outcome: (taken: Bool, waiter: CheckedContinuation<Void, Error>?) = state.withLockedValue { state in
            guard case .waiting(let waiter) = state else { return (false, nil) }
            state = .failed(error)
            return (true, waiter)
        }
        outcome.waiter?.resume(throwing: error)
        return outcome.taken
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let ready: Result<Void, Error>? = state.withLockedValue { state in
                switch state {
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                case .opened: return .success(())
                case .failed(let error): return .failure(error)
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
