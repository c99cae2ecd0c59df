import APIModels
import CRIClient
import CRIProtocol
import Foundation
import GRPCCore
import Testing

/// berthd's CRI socket through gRPC, as kubelet uses it: the runtime's identity and handlers, and
/// images, which are the same images the Docker API shows.
@Suite(.serialized) struct CRIImageTests {
    static func criSocket(_ daemon: DaemonFixture) -> String { daemon.execRoot + "/cri.sock" }

    /// Expects `call` to fail with status `code`.
    static func expectRefusal<T>(_ code: RPCError.Code, sourceLocation: SourceLocation = #_sourceLocation,
                                 _ call: () async throws -> T) async {
        do {
            _ = try await call()
            Issue.record("succeeded; expected \(code)", sourceLocation: sourceLocation)
        } catch let error as RPCError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error); expected \(code)", sourceLocation: sourceLocation)
        }
    }

    @Test func theSocketIsRootsOnlyAndNamesTheRuntimeAndItsHandlers() async throws {
        try await DaemonFixture.with { daemon in
            var status = stat()
            #expect(lstat(Self.criSocket(daemon), &status) == 0)
            #expect(status.st_mode & S_IFMT == S_IFSOCK)
            #expect(status.st_mode & 0o777 == 0o600)
            #expect(status.st_uid == 0)
            try await CRIConnection.with(socket: Self.criSocket(daemon)) { cri in
                let version = try await cri.runtime.version(.init())
                #expect(version.runtimeName == "berth")
                #expect(version.runtimeApiVersion == "v1")
                #expect(version.version == "0.1.0")
                #expect(!version.runtimeVersion.isEmpty)

                let runtimeStatus = try await cri.runtime.status(.init())
                let conditions = Dictionary(uniqueKeysWithValues: runtimeStatus.status.conditions.map { ($0.type, $0.status) })
                #expect(conditions == ["RuntimeReady": true, "NetworkReady": true])
                // This machine has qemu-system for every architecture berthd boots (scripts/install-deps).
                #expect(runtimeStatus.runtimeHandlers.map(\.name) == ["", "runc", "berth-vm", "berth-arm64", "berth-arm"])
            }
            // crictl's spelling works too: the endpoint before the verb, as a unix:// address.
            let version = try daemon.berth(["cri", "-r", "unix://" + Self.criSocket(daemon), "version"])
            #expect(version.status == 0, "\(version.stderr)")
            #expect(version.stdout.contains("RuntimeName:  berth") && version.stdout.contains("RuntimeApiVersion:  v1"))
        }
    }

    @Test func imagesPulledThroughTheCRIAreTheEnginesOwnPerPlatform() async throws {
        try await ImagePullTests.withPushedImage { registry, daemon, built in
            let name = "\(registry.address)/berth-test/busybox:latest"
            let amd64 = try ImagePullTests.configDigest(built, tag: "amd64")
            let arm64 = try ImagePullTests.configDigest(built, tag: "arm64")
            try await CRIConnection.with(socket: Self.criSocket(daemon)) { cri in
                var missing = Runtime_V1_ImageStatusRequest()
                missing.image.image = name
                // Not here yet: an empty answer, not an error, so kubelet knows to pull.
                #expect(try await cri.images.imageStatus(missing).hasImage == false)

                var pull = Runtime_V1_PullImageRequest()
                pull.image.image = name
                #expect(try await cri.images.pullImage(pull).imageRef == amd64)
                // A pod of the berth-arm64 handler needs the arm64 variant of the same name.
                pull.image.runtimeHandler = "berth-arm64"
                #expect(try await cri.images.pullImage(pull).imageRef == arm64)

                let status = try await cri.images.imageStatus(missing)
                #expect(status.image.id == amd64)
                #expect(status.image.repoTags == [name])
                #expect(status.image.repoDigests == ["\(registry.address)/berth-test/busybox@\(built.refs["berth-test/busybox:latest"]!)"])
                #expect(status.image.size > 0)
                var armStatus = missing
                armStatus.image.runtimeHandler = "berth-arm64"
                #expect(try await cri.images.imageStatus(armStatus).image.id == arm64)

                let listed = try await cri.images.listImages(.init()).images
                #expect(Set(listed.map(\.id)) == [amd64, arm64])
                var filtered = Runtime_V1_ListImagesRequest()
                filtered.filter.image.image = String(amd64.dropFirst("sha256:".count).prefix(12))
                #expect(try await cri.images.listImages(filtered).images.map(\.id) == [amd64])

                // The Docker API sees the very same images.
                let listing = try daemon.berth(["images", "--format", "json"])
                let summaries = try JSONDecoder().decode([ImageSummary].self, from: Data(listing.stdout.utf8))
                #expect(Set(summaries.map(\.Id)) == [amd64, arm64])

                let filesystem = try await cri.images.imageFsInfo(.init()).imageFilesystems
                #expect(filesystem.count == 1)
                #expect(filesystem.first?.fsID.mountpoint == daemon.root + "/snapshots")
                #expect((filesystem.first?.usedBytes.value ?? 0) > 0 && (filesystem.first?.inodesUsed.value ?? 0) > 0)

                var remove = Runtime_V1_RemoveImageRequest()
                remove.image.image = name
                _ = try await cri.images.removeImage(remove)
                #expect(try await cri.images.imageStatus(missing).hasImage == false)
                #expect(try await cri.images.listImages(.init()).images.map(\.id) == [arm64])
                // Removing what is gone already succeeds, as the CRI asks.
                _ = try await cri.images.removeImage(remove)
            }
            let table = try daemon.berth(["cri", "images", "-r", Self.criSocket(daemon)])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.range(of: #"berth-test/busybox\s+latest\s+"# + arm64.dropFirst(7).prefix(13), options: .regularExpression) != nil,
                    "\(table.stdout)\(table.stderr)")
        }
    }

    @Test func badRequestsAreRefusedWithTheirStatus() async throws {
        try await ImagePullTests.withPushedImage { registry, daemon, _ in
            try await CRIConnection.with(socket: Self.criSocket(daemon)) { cri in
                var pull = Runtime_V1_PullImageRequest()
                pull.image.image = "\(registry.address)/berth-test/busybox:latest"
                pull.image.runtimeHandler = "no-such-handler"
                await Self.expectRefusal(.invalidArgument) { try await cri.images.pullImage(pull) }
                pull.image.runtimeHandler = ""
                pull.image.image = "Not A Reference"
                await Self.expectRefusal(.invalidArgument) { try await cri.images.pullImage(pull) }
                pull.image.image = "\(registry.address)/berth-test/busybox:no-such-tag"
                await Self.expectRefusal(.notFound) { try await cri.images.pullImage(pull) }
                pull.image.image = ""
                await Self.expectRefusal(.invalidArgument) { try await cri.images.pullImage(pull) }
                // Nothing was left half-made by the refused pulls.
                let left = try await cri.images.listImages(.init()).images
                #expect(left.isEmpty)
            }
        }
    }

    @Test func pullsTakeKubeletsCredentialShapes() async throws {
        try await ImagePullTests.withPushedImage(credentials: ("kube", "s3cret")) { registry, daemon, _ in
            try await CRIConnection.with(socket: Self.criSocket(daemon)) { cri in
                var pull = Runtime_V1_PullImageRequest()
                pull.image.image = "\(registry.address)/berth-test/busybox:latest"
                // A registry's 401 reads as dockerd words it, and as kubelet shows it: not found, or a login needed.
                await Self.expectRefusal(.notFound) { try await cri.images.pullImage(pull) }
                pull.auth.auth = Data("kube:wrong".utf8).base64EncodedString()
                // A registry's 401 reads as dockerd words it, and as kubelet shows it: not found, or a login needed.
                await Self.expectRefusal(.notFound) { try await cri.images.pullImage(pull) }
                pull.auth.auth = Data("kube:s3cret".utf8).base64EncodedString()
                #expect(try await cri.images.pullImage(pull).imageRef.hasPrefix("sha256:"))
                _ = try await cri.images.removeImage(.with { $0.image.image = pull.image.image })
                pull.auth = .with { $0.username = "kube"; $0.password = "s3cret" }
                #expect(try await cri.images.pullImage(pull).imageRef.hasPrefix("sha256:"))
            }
        }
    }
}
