import Testing
@testable import NativeRuntime

struct UserNamespaceMappingTests {
    @Test func takesTheLowestFreeBlock() {
        let first = UserNamespaceMapping.firstFree(excluding: [])
        #expect(first?.hostBase == 1 << 30)
        let base = UserNamespaceMapping.poolStart
        let size = UserNamespaceMapping.size
        let used = [UserNamespaceMapping(hostBase: base), UserNamespaceMapping(hostBase: base + 2 * size)]
        #expect(UserNamespaceMapping.firstFree(excluding: used)?.hostBase == base + size, "a freed block is reused")
    }

    @Test func reportsAnExhaustedPool() {
        let all = (0..<UserNamespaceMapping.poolBlocks).map {
            UserNamespaceMapping(hostBase: UserNamespaceMapping.poolStart + $0 * UserNamespaceMapping.size)
        }
        #expect(UserNamespaceMapping.firstFree(excluding: all) == nil)
    }

    @Test func mapsEveryIdAnImageMayUse() {
        #expect(UserNamespaceMapping(hostBase: 1 << 30).idMap == "0 1073741824 65536\n")
        let last = UInt64(UserNamespaceMapping.poolStart) + UInt64(UserNamespaceMapping.poolBlocks) * UInt64(UserNamespaceMapping.size)
        #expect(last <= UInt64(UInt32.max), "the pool stays inside 32-bit ids")
    }
}
