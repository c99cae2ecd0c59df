@testable import API
import Testing

@Suite struct ReferencePatternTests {
    @Test func dockerReferenceFilter() {
        #expect(ReferencePattern.matches("r.example/bb", "r.example/bb:latest"))
        #expect(ReferencePattern.matches("r.example/bb:lat*", "r.example/bb:latest"))
        #expect(ReferencePattern.matches("*/bb", "berth-test/bb:v1"))
        #expect(!ReferencePattern.matches("*/bb", "r.example/x/bb:v1"), "* does not cross /")
        #expect(!ReferencePattern.matches("r.example/bb:v2", "r.example/bb:v1"))
    }
}
