import APIModels
import Foundation
import NIOCore
import OCI
import Testing

@testable import Engine

@Suite struct HealthcheckPolicyTests {
    static func result(_ code: Int) -> HealthcheckResult {
        HealthcheckResult(Start: "", End: "", ExitCode: code, Output: "")
    }

    @Test func containerSettingsWinFieldByFieldOverTheImagesAndDockersDefaults() throws {
        var image = ImageConfig.Healthcheck(Test: ["CMD", "true"])
        image.Interval = 2_000_000_000
        image.Retries = 5
        let inherited = try #require(HealthcheckPolicy(container: nil, image: image, shell: nil))
        #expect(inherited.command == ["true"] && inherited.interval == .seconds(2) && inherited.retries == 5)
        #expect(inherited.timeout == .seconds(30) && inherited.startPeriod == .zero && inherited.startInterval == .seconds(5))

        let own = try #require(HealthcheckPolicy(container: HealthConfig(Test: ["CMD-SHELL", "curl -f localhost"], Timeout: 3_000_000_000),
                                                 image: image, shell: ["/bin/bash", "-c"]))
        #expect(own.command == ["/bin/bash", "-c", "curl -f localhost"] && own.timeout == .seconds(3) && own.interval == .seconds(2))
        #expect(HealthcheckPolicy(container: HealthConfig(Test: ["NONE"]), image: image, shell: nil) == nil)
        #expect(HealthcheckPolicy(container: nil, image: nil, shell: nil) == nil)
    }

    @Test func verdictsFollowDockersRules() throws {
        let policy = try #require(HealthcheckPolicy(
            container: HealthConfig(Test: ["CMD", "check"], StartPeriod: 10_000_000_000, Retries: 2), image: nil, shell: nil))
        let started = Date(timeIntervalSince1970: 1000)
        var health = ContainerHealth()
        // Within the start period, failures leave it starting and uncounted.
        health = HealthcheckPolicy.record(Self.result(1), startedAt: started, ranAt: started + 5, into: health, policy: policy)
        #expect(health.Status == .starting && health.FailingStreak == 0 && health.Log.count == 1)
        // After it, they count; `retries` of them in a row make it unhealthy.
        health = HealthcheckPolicy.record(Self.result(1), startedAt: started, ranAt: started + 11, into: health, policy: policy)
        #expect(health.Status == .starting && health.FailingStreak == 1)
        health = HealthcheckPolicy.record(Self.result(2), startedAt: started, ranAt: started + 12, into: health, policy: policy)
        #expect(health.Status == .unhealthy && health.FailingStreak == 2)
        // One success heals it, and only the last five probes are kept.
        for second in 13..<20 {
            health = HealthcheckPolicy.record(Self.result(0), startedAt: started, ranAt: started + Double(second), into: health, policy: policy)
        }
        #expect(health.Status == .healthy && health.FailingStreak == 0 && health.Log.count == 5)
        // A success within the start period counts at once.
        let early = HealthcheckPolicy.record(Self.result(0), startedAt: started, ranAt: started + 1, into: ContainerHealth(), policy: policy)
        #expect(early.Status == .healthy)
    }

    @Test func probeOutputKeepsBothStreamsAcrossChunksUpToDockersLimit() {
        var output = ProbeOutput()
        let frame = { (stream: UInt8, text: String) -> [UInt8] in
            [stream, 0, 0, 0] + withUnsafeBytes(of: UInt32(text.utf8.count).bigEndian, Array.init) + Array(text.utf8)
        }
        let bytes = frame(1, "out\n") + frame(2, "err\n")
        output.append(ByteBuffer(bytes: bytes[0..<6]))
        output.append(ByteBuffer(bytes: bytes[6...]))
        #expect(output.text == "out\nerr\n")
        output.append(ByteBuffer(bytes: frame(1, String(repeating: "x", count: 5000))))
        #expect(output.text.utf8.count == HealthcheckPolicy.outputLimit)
    }
}
