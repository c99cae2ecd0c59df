import Dispatch

/// Runs blocking file-system work (unpacking, hashing big files) off Swift's cooperative threads,
/// which are as few as the CPUs and must not be held by a syscall-heavy loop.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try work() })
        }
    }
}
