import Foundation

/// A value set once and awaited by any number of tasks; a cancelled waiter gets nil.
final class Latch<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value?
    private var waiters: [UUID: CheckedContinuation<Value?, Never>] = [:]

    func resolve(_ newValue: Value) {
        lock.lock()
        guard value == nil else { lock.unlock(); return }
        value = newValue
        let pending = waiters.values
        waiters = [:]
        lock.unlock()
        pending.forEach { $0.resume(returning: newValue) }
    }

    func wait() async -> Value? {
        let token = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                lock.lock()
                if let value {
                    lock.unlock()
                    continuation.resume(returning: value)
                } else if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(returning: nil)
                } else {
                    waiters[token] = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let waiter = waiters.removeValue(forKey: token)
            lock.unlock()
            waiter?.resume(returning: nil)
        }
    }
}
