import Foundation
import SystemSupport

/// An exclusive `flock` on `<root>/berthd.lock`, held for the daemon's life, naming its holder's pid.
///
/// The kernel drops the lock when the process dies, so a killed daemon never leaves a stale lock.
struct RootLock {
    let path: String
    private let descriptor: Int32

    enum LockError: Error, CustomStringConvertible {
        case held(root: String, pid: String)

        var description: String {
            switch self {
            case .held(let root, let pid):
                return "another berthd (pid \(pid)) is using root \(root): stop it, or start this one with a different --root"
            }
        }
    }

    init(root: String) throws {
        path = root + "/berthd.lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SystemError.call("open \(path)", errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
            close(descriptor)
            throw LockError.held(root: root, pid: holder.isEmpty ? "unknown" : holder)
        }
        let pid = "\(getpid())\n"
        ftruncate(descriptor, 0)
        _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    func release() {
        ftruncate(descriptor, 0)
        close(descriptor)
    }
}
