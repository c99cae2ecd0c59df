import Foundation

/// Fans engine events out to subscribers (`GET /events`) and keeps recent ones for `since`.
public actor EventBus {
    private var recent: [EngineEvent] = []
    private let capacity: Int
    private var subscribers: [UUID: Subscriber] = [:]
    private var lastTimeNano: Int64 = 0

    private struct Subscriber {
        var filter: EventFilter
        var until: Int64?
        var continuation: AsyncStream<EngineEvent>.Continuation
    }

    public init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    public var subscriberCount: Int { subscribers.count }

    /// Stamps the event with the current time and delivers it; returns it as delivered.
    @discardableResult
    public func publish(_ event: EngineEvent) -> EngineEvent {
        var event = event
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        // Strictly increasing stamps keep `since`/`until` boundaries exact.
        lastTimeNano = max(now, lastTimeNano + 1)
        event.timeNano = lastTimeNano
        recent.append(event)
        if recent.count > capacity { recent.removeFirst(recent.count - capacity) }
        for (id, subscriber) in subscribers where subscriber.filter.matches(event) {
            if let until = subscriber.until, event.timeNano > until {
                subscriber.continuation.finish()
                subscribers[id] = nil
                continue
            }
            subscriber.continuation.yield(event)
        }
        return event
    }

    /// Past events from `since` (replayed first), then live ones until `until` or cancellation.
    /// With `until` already past, the stream ends after the replay.
    public func subscribe(filter: EventFilter, since: Int64?, until: Int64?) -> AsyncStream<EngineEvent> {
        let (stream, continuation) = AsyncStream<EngineEvent>.makeStream(bufferingPolicy: .bufferingNewest(capacity))
        if let since {
            for event in recent where event.timeNano >= since && filter.matches(event) {
                if let until, event.timeNano > until { break }
                continuation.yield(event)
            }
        }
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        if let until, until <= now {
            continuation.finish()
            return stream
        }
        let id = UUID()
        subscribers[id] = Subscriber(filter: filter, until: until, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        if let until {
            Task { [weak self] in
                try? await Task.sleep(nanoseconds: UInt64(max(0, until - now)))
                await self?.finish(id)
            }
        }
        return stream
    }

    /// Ends every stream, as on daemon shutdown.
    public func finishAll() {
        for subscriber in subscribers.values { subscriber.continuation.finish() }
        subscribers.removeAll()
    }

    private func finish(_ id: UUID) {
        subscribers.removeValue(forKey: id)?.continuation.finish()
    }

    private func unsubscribe(_ id: UUID) {
        subscribers[id] = nil
    }
}
