import Foundation
import SystemSupport
import Testing

/// Failed system calls read as Docker's (Go's) do, whichever API made them.
struct SystemErrorTests {
    @Test func errnoWordsAreLowercaseAsGoPrintsThem() {
        #expect(SystemError.text(ENOSPC) == "no space left on device")
        #expect(SystemError.call("write /x", EROFS).description == "write /x: read-only file system")
    }

    @Test func foundationFileErrorsBecomeTheirSystemCall() throws {
        let missing = NSTemporaryDirectory() + "no-such-\(UUID().uuidString)/file"
        do {
            try Data("x".utf8).write(to: URL(fileURLWithPath: missing))
            Issue.record("writing into a missing directory succeeded")
        } catch {
            #expect(SystemError(foundation: error)?.description == "\(missing): no such file or directory")
        }
        let outOfSpace = NSError(domain: NSCocoaErrorDomain, code: 640, userInfo: [NSFilePathErrorKey: "/var/lib/berth/x"])
        #expect(SystemError(foundation: outOfSpace)?.description == "/var/lib/berth/x: no space left on device")
        #expect(SystemError(foundation: CancellationError()) == nil)
        #expect(SystemError.call("a", ENOSPC).doing("b") == .call("b", ENOSPC))
    }
}
