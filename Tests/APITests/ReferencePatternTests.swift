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

    @Test func wildcardsMatchAnyRunWithinASegment() {
        #expect(ReferencePattern.matches("*", "busybox:latest"))
        #expect(ReferencePattern.matches("b*y*x", "busybox:1"))
        #expect(ReferencePattern.matches("**/*b*", "team/abc:v1"))
        #expect(ReferencePattern.matches("team/*:*", "team/app:"))
        #expect(!ReferencePattern.matches("team/*:v*", "team/app:latest"))
        #expect(!ReferencePattern.matches("*", "team/app:v1"), "* does not cross /")
        #expect(!ReferencePattern.matches("b*x", "busybo"))
    }

    /// Before, each `*` tried every length in turn: this pattern took time exponential in its `*`s.
    @Test func manyWildcardsAgainstALongNameStillAnswer() {
        let pattern = String(repeating: "*a", count: 40) + "b"
        #expect(!ReferencePattern.matches(pattern, String(repeating: "a", count: 400)))
        #expect(ReferencePattern.matches(pattern, String(repeating: "a", count: 400) + "b"))
    }
}
