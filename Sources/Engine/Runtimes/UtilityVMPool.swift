import Foundation
import Networking
import Synchronization
import VMRuntime

/// Clones of templates started before any container asks for them (`berthd --vm-pool ARCH=N`):
/// running, with blank disks, a TAP on no bridge and no shares, their agents waiting. A VM container
/// that fits takes one, gets its disks handed over QMP and its TAP renamed onto its bridge, and the
/// pool starts another in the background.
public final class UtilityVMPool: Sendable {
    /// One waiting clone: its QEMU, the directory its files are in until handed over, its TAP.
    struct Member: Sendable {
        var fingerprint: String
        var directory: String
        var pid: Int32
        var tap: String
    }

    /// How many clones to keep waiting per OCI architecture (`amd64`, `arm64`, `arm`).
    public let sizes: [String: Int]
    /// Under berthd's root; each member has a directory of its own here until it is taken.
    public let directory: String
    private let members = Mutex<[Member]>([])

    public init(sizes: [String: Int], directory: String) {
        self.sizes = sizes.filter { $0.value > 0 }
        self.directory = directory
    }

    /// `ARCH=N` as `--vm-pool` takes it; the architecture as `--platform` names it (x86_64 and aarch64 too).
    public static func parseSize(_ text: String) throws -> (architecture: String, count: Int) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        let aliases = ["x86_64": "amd64", "aarch64": "arm64"]
        guard parts.count == 2, let count = Int(parts[1]), count >= 0, count <= 64 else {
            throw ContainerError.invalid("invalid VM pool size \(text): use ARCH=N with N from 0 to 64, e.g. amd64=2")
        }
        let architecture = aliases[parts[0]] ?? parts[0]
        guard GuestMachine.forPlatform(architecture: architecture) != nil else {
            throw ContainerError.invalid("invalid VM pool size \(text): utility VMs are for amd64, arm64 and arm")
        }
        return (architecture, count)
    }

    /// How many clones of the template `fingerprint` wait now.
    func count(of fingerprint: String) -> Int {
        members.withLock { $0.filter { $0.fingerprint == fingerprint }.count }
    }

    /// The waiting clones, per template fingerprint.
    public func counts() -> [String: Int] {
        members.withLock { Dictionary($0.map { ($0.fingerprint, 1) }, uniquingKeysWith: +) }
    }

    func add(_ member: Member) {
        members.withLock { $0.append(member) }
    }

    /// A waiting clone of `fingerprint` whose QEMU still runs, taken out of the pool; dead ones are dropped.
    func take(_ fingerprint: String) -> Member? {
        while let member = members.withLock({ members -> Member? in
            guard let index = members.firstIndex(where: { $0.fingerprint == fingerprint }) else { return nil }
            return members.remove(at: index)
        }) {
            if QEMUProcess.pid(runDirectory: member.directory) == member.pid { return member }
            Self.end(member.pid, directory: member.directory)
        }
        return nil
    }

    /// Ends every waiting clone (berthd stopping), and whatever a berthd before this one left here.
    public func endAll() {
        for member in members.withLock({ members in defer { members.removeAll() }; return members }) {
            Self.end(member.pid, directory: member.directory)
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + entry
            if let pid = QEMUProcess.pid(runDirectory: path) { Self.end(pid, directory: path) } else { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    static func end(_ pid: Int32, directory: String) {
        QEMUProcess.end(pid, runDirectory: directory)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
