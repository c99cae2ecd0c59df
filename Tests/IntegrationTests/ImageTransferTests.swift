import APIModels
import Foundation
import Testing

/// Push, save and load, with berth and the real docker CLI; skopeo checks what reached the registry.
@Suite(.serialized) struct ImageTransferTests {
    @Test func tagAndPushKeepTheManifestDigest() async throws {
        try await ImagePullTests.withPushedImage { registry, daemon, built in
            let docker = ["docker", "-H", daemon.host]
            try Command.succeed(docker + ["pull", "-q", "\(registry.address)/berth-test/busybox:latest"], timeout: 120)
            let amd64Manifest = try Command.succeed(["skopeo", "inspect", "--raw", "oci:\(built.layout):amd64"])
            let expected = try Command.succeed(["sha256sum"], timeout: 10, input: Data(amd64Manifest.utf8)).prefix(64)

            // Same registry, new repository: blobs are mounted. Another name for the registry: uploaded.
            for target in ["\(registry.address)/pushed/busybox:v1", "localhost:\(registry.port)/uploaded/busybox:v2"] {
                try Command.succeed(docker + ["tag", "\(registry.address)/berth-test/busybox:latest", target])
                let push = try Command.run(docker + ["push", target], timeout: 120)
                #expect(push.status == 0, "\(push.stderr)")
                #expect(push.stdout.contains("digest: sha256:\(expected)"))
                let raw = try Command.succeed(["skopeo", "inspect", "--tls-verify=false", "--raw", "docker://\(target)"])
                #expect(try Command.succeed(["sha256sum"], timeout: 10, input: Data(raw.utf8)).prefix(64) == expected)
            }
            let mounted = try daemon.berth(["push", "\(registry.address)/pushed/busybox:v1"])
            #expect(mounted.stdout.contains("Layer already exists"), "\(mounted.stdout)")
            // A name that is not here is refused before any registry is asked.
            let absent = try daemon.berth(["push", "berth-test/busybox"])
            #expect(absent.status == 1 && absent.stderr.contains("An image does not exist locally with the tag: berth-test/busybox"), "\(absent)")
        }
    }

    @Test func saveRmiLoadRoundTripsTheImageID() async throws {
        try await ImagePullTests.withPushedImage { registry, daemon, _ in
            let docker = ["docker", "-H", daemon.host]
            let name = "\(registry.address)/berth-test/busybox:latest"
            try Command.succeed(docker + ["pull", "-q", name], timeout: 120)
            let id = try Command.succeed(docker + ["image", "inspect", name, "--format", "{{.Id}}"])
            let archive = daemon.scratch + "/saved.tar"

            try Command.succeed(docker + ["save", "-o", archive, name])
            try Command.succeed(docker + ["rmi", name])
            #expect(try daemon.berth(["images", "-q"]).stdout.isEmpty)
            let loaded = try Command.succeed(docker + ["load", "-i", archive])
            #expect(loaded.contains("Loaded image: \(name)"))
            #expect(try Command.succeed(docker + ["image", "inspect", name, "--format", "{{.Id}}"]) == id)

            // berth's own save of the same image is byte-identical: archives are reproducible.
            let again = daemon.scratch + "/again.tar"
            #expect(try daemon.berth(["save", "-o", again, name]).status == 0)
            #expect(FileManager.default.contentsEqual(atPath: archive, andPath: again))
            // The archive is also a valid OCI layout for skopeo.
            let layout = daemon.scratch + "/layout"
            try FileManager.default.createDirectory(atPath: layout, withIntermediateDirectories: true)
            try Command.succeed(["tar", "-xf", archive, "-C", layout])
            let inspected = try Command.succeed(["skopeo", "inspect", "oci:\(layout):latest", "--format", "{{.Architecture}}"])
            #expect(inspected.trimmingCharacters(in: .whitespacesAndNewlines) == "amd64")
        }
    }

    @Test func loadsAnOCILayoutWithEveryPlatform() async throws {
        let built = try TestImageTests.build(into: nil)
        try await DaemonFixture.with { daemon in
            let archive = daemon.scratch + "/layout.tar"
            try Command.succeed(["tar", "-cf", archive, "-C", built.layout, "."])
            let loaded = try daemon.berth(["load", "-i", archive])
            #expect(loaded.status == 0, "\(loaded.stderr)")
            #expect(loaded.stdout.contains("Loaded image: berth-test/busybox:arm64"))
            let images = try JSONDecoder().decode([ImageSummary].self, from: Data(try daemon.berth(["images", "--format", "json"]).stdout.utf8))
            #expect(Set(images.compactMap(\.Platform)) == ["linux/amd64", "linux/arm64", "linux/arm/v7"])
            #expect(images.allSatisfy { $0.RepoTags.contains("berth-test/busybox:latest") })
        }
    }

    @Test func hostileArchivesAreRefused() async throws {
        try await DaemonFixture.with { daemon in
            let hostile = daemon.scratch + "/hostile"
            try FileManager.default.createDirectory(atPath: hostile, withIntermediateDirectories: true)
            let script = """
                import io, sys, tarfile
                def archive(path, name, data=b"x", kind=tarfile.REGTYPE, link=""):
                    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
                        info = tarfile.TarInfo(name); info.type = kind; info.linkname = link; info.size = len(data) if kind == tarfile.REGTYPE else 0
                        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
                archive(sys.argv[1] + "/traversal.tar", "../../escaped")
                archive(sys.argv[1] + "/symlink.tar", "manifest.json", kind=tarfile.SYMTYPE, link="/etc/passwd")
                archive(sys.argv[1] + "/empty.tar", "readme", data=b"not an image")
                """
            try Command.succeed(["python3", "-c", script, hostile])
            for (name, message) in [("traversal.tar", "is not a plain file inside the archive"),
                                    ("symlink.tar", "is not a plain file inside the archive"),
                                    ("empty.tar", "not an image archive")] {
                let result = try daemon.berth(["load", "-i", hostile + "/" + name])
                #expect(result.status == 1 && result.stderr.contains(message), "\(name): \(result.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: daemon.scratch + "/escaped"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.execRoot + "/spool").isEmpty)
            #expect(try daemon.berth(["images", "-q"]).stdout.isEmpty)
        }
    }
}
