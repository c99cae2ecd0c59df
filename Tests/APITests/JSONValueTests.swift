import APIModels
import Foundation
import Testing

struct JSONValueTests {
    /// cgroup v1 calls unlimited memory 2^63 - 4096: a Double would write it as 9.2e+18, which the
    /// docker CLI cannot decode into its uint64 stats (`docker stats` then says only "EOF").
    @Test func countersBeyondADoublesPrecisionAreWrittenExactly() throws {
        let limit: UInt64 = 9_223_372_036_854_771_712
        let written = String(decoding: try JSONEncoder().encode(JSONValue.object(["hierarchical_memory_limit": .unsigned(limit)])), as: UTF8.self)
        #expect(written == #"{"hierarchical_memory_limit":9223372036854771712}"#)
        #expect(String(decoding: try JSONEncoder().encode(JSONValue.unsigned(.max)), as: UTF8.self) == "18446744073709551615")
    }
}
