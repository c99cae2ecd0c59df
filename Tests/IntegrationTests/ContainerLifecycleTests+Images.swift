import Foundation
import Testing

extension ContainerLifecycleTests {
    @Test func imagesInUseAreKept() async throws {
        try await Self.withImages { daemon in
            #expect(try Self.docker(daemon, ["create", "--name", "user", Self.image, "true"]).status == 0)
            // One of several names goes as a plain untag, as in dockerd; the last one needs force.
            let other = try Self.docker(daemon, ["rmi", "berth-test/busybox:latest"])
            #expect(other.status == 0 && other.stdout == "Untagged: berth-test/busybox:latest\n", "\(other)")
            let refused = try Self.docker(daemon, ["rmi", Self.image])
            #expect(refused.status != 0 && refused.stderr.contains("must force"), "\(refused)")
            let forced = try Self.docker(daemon, ["rmi", "-f", Self.image])
            #expect(forced.status == 0 && forced.stdout.contains("Untagged") && !forced.stdout.contains("Deleted"), "\(forced)")
            let run = try Self.docker(daemon, ["start", "-a", "user"])
            #expect(run.status == 0, "the container's image went with its name: \(run)")
        }
    }
}
