import Testing
@testable import Engine

struct UtilityVMPoolTests {
    @Test func sizesNameAnArchitectureAsPlatformsDoAndACount() throws {
        #expect(try UtilityVMPool.parseSize("amd64=2") == ("amd64", 2))
        #expect(try UtilityVMPool.parseSize("x86_64=1") == ("amd64", 1))
        #expect(try UtilityVMPool.parseSize("aarch64=3") == ("arm64", 3))
        #expect(try UtilityVMPool.parseSize("arm=0") == ("arm", 0))
        for bad in ["amd64", "amd64=", "amd64=-1", "amd64=65", "sparc=1", "=2", "amd64=two"] {
            #expect(throws: ContainerError.self, "\(bad)") { try UtilityVMPool.parseSize(bad) }
        }
    }

    @Test func aPoolOfNothingKeepsNoSizes() {
        let pool = UtilityVMPool(sizes: ["amd64": 0, "arm64": 2], directory: "/nonexistent")
        #expect(pool.sizes == ["arm64": 2])
        #expect(pool.counts().isEmpty)
        #expect(pool.take("any") == nil)
    }
}
