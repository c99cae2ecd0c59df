import Foundation

/// A container's (or an exec's) process as its runtime holds it: set up and waiting for
/// `start`, then running until `wait` answers.
public protocol ContainerProcess: Sendable {
    /// Lets the process run its command; returns its pid as the host sees it, or throws why the exec failed.
    func start() async throws -> Int32
    func kill(signal: Int32) async throws
    func resize(rows: Int, columns: Int) async throws
    /// Opens the log file again at its path, after whoever rotates it renamed the old one.
    func reopenLog() async throws
    /// Waits for the process to exit and returns its code; throws when the runtime lost it without an answer.
    func wait() async throws -> Int32
    /// Attaches to the process's stdio for the length of `body`. With `stdinOnce`, the end of
    /// this client's input ends the process's stdin.
    func attach<Result: Sendable>(
        stdin: Bool, stdout: Bool, stderr: Bool, stdinOnce: Bool,
        _ body: @escaping @Sendable (ContainerAttachment) async throws -> Result
    ) async throws -> Result
}
