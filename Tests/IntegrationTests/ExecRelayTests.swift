import Foundation
import Glibc
import NativeRuntime
import Testing
import VMRuntime

/// An exec's shim in a utility-VM container, against a stand-in for the container's shim: the
/// relay's side of the protocol, without a VM.
struct ExecRelayTests {
    /// A quick process in a busy host's VM: its start, output and exit reach the exec's shim in
    /// one read, while the shim waits for the start alone. The rest must still be handled, though
    /// nothing more will arrive to wake the shim for it.
    @Test func anExecWhoseOutputAndExitArriveWithItsStartEnds() async throws {
        let scratch = try TestPaths.makeScratch("exec-relay")
        defer { TestPaths.removeScratch(scratch) }
        let relayPath = scratch + "/container.sock"
        let listener = try Self.listen(at: relayPath)
        defer { close(listener) }
        let containerShim = Thread { Self.standIn(listener, process: 2) }
        containerShim.start()

        var spec = LaunchSpec(id: "exec1", arguments: ["echo", "alive"], environment: [], rootfs: "", lowerDirectories: [],
                              upperDirectory: "", workDirectory: "", logPath: "", exitPath: scratch + "/exit",
                              socketPath: scratch + "/exec.sock")
        spec.namespaces = []
        spec.placement = .utilityVMExec(relay: relayPath, root: "/rootfs", container: nil)
        try spec.encoded().write(to: URL(fileURLWithPath: scratch + "/spec"))
        let shim = try ShimLauncher(shimPath: TestPaths.binDirectory + "/berth-shim")
            .launch(specPath: scratch + "/spec", diagnosticsPath: scratch + "/shim.log")
        // A shim that missed the exit would wait for ever.
        defer { kill(shim.shimPID, SIGKILL) }
        let client = ShimClient(socketPath: spec.socketPath)
        #expect(try await client.start() == 31, "the guest pid the start answered")
        let deadline = Date().addingTimeInterval(10)
        while ExitRecord.read(spec.exitPath) == nil, Date() < deadline { usleep(20_000) }
        #expect(ExitRecord.read(spec.exitPath)?.code == 3, "the exit that came with the start was recorded")
    }

    static func listen(at path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0, Glibc.listen(descriptor, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        return descriptor
    }

    /// Grants the relay, waits for the run request, and answers it with the start, the output and
    /// the exit in a single write.
    static func standIn(_ listener: Int32, process: UInt32) {
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { return }
        defer { close(connection) }
        var received: [UInt8] = []
        func receive() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            received += chunk[0..<count]
            return true
        }
        while !received.contains(UInt8(ascii: "\n")) { guard receive() else { return } }
        guard String(decoding: received, as: UTF8.self) == "relay\n" else { return }
        received = []
        _ = "ok \(process)\n".withCString { send(connection, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var reader = AgentFrameReader()
        while true {
            if let frame = reader.next(), frame.kind == UInt8(ascii: "r") { break }
            guard receive() else { return }
            reader.append(received)
            received = []
        }
        let answer = [AgentFrame(kind: UInt8(ascii: "s"), process: process, payload: Array("31".utf8)),
                      AgentFrame(kind: UInt8(ascii: "o"), process: process, payload: Array("alive\n".utf8)),
                      AgentFrame(kind: UInt8(ascii: "x"), process: process, payload: Array("3".utf8))].flatMap { $0.encoded() }
        _ = answer.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // Held open as the container's shim would, until the exec's shim lets go.
        while receive() {}
    }
}
