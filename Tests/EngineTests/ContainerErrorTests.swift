import ImageStore
import NativeRuntime
import Testing
@testable import Engine

/// The runtime's and the file layer's errors leave Engine as container errors, so the API maps
/// only Engine's own types to Docker's statuses.
struct ContainerErrorTests {
    @Test func runtimeAndFileErrorsBecomeContainerErrors() {
        #expect(ContainerError.translating(ShimError.unreachable("/run/x/shim.sock")) as? ContainerError
            == .failed("the container's shim is gone (/run/x/shim.sock)"))
        #expect(ContainerError.translating(RootedFilesError.notFound("/nope")) as? ContainerError
            == .notFound("Could not find the file /nope in container"))
        #expect(ContainerError.translating(ArchiveError.unsafePath("../x")) as? ContainerError
            == .invalid(ArchiveError.unsafePath("../x").description))
    }

    @Test func otherErrorsPassUnchanged() {
        #expect(ContainerError.translating(ContainerError.conflict("busy")) as? ContainerError == .conflict("busy"))
        #expect(ContainerError.translating(CancellationError()) is CancellationError)
    }

    @Test func failuresOfTheRuntimeAreServerErrors() {
        #expect(ContainerError.failed("gone").code == 125)
        #expect(ContainerError.failed("gone").description == "gone")
    }
}
