import APIModels
import Foundation
import OCI

/// A container's healthcheck as it runs: the probe's command and its timing, from the container's
/// `Healthcheck` over the image's, field by field, over Docker's defaults.
struct HealthcheckPolicy: Sendable, Equatable {
    /// The probe, ready to exec: `CMD`'s arguments, or `CMD-SHELL`'s line through the container's shell.
    var command: [String]
    var interval: Duration
    var timeout: Duration
    /// Failures this soon after a start do not count, until a probe first succeeds.
    var startPeriod: Duration
    /// The probes' spacing within the start period.
    var startInterval: Duration
    /// Failures in a row that make the container unhealthy.
    var retries: Int

    static let defaultInterval = Duration.seconds(30)
    static let defaultTimeout = Duration.seconds(30)
    static let defaultStartInterval = Duration.seconds(5)
    static let defaultRetries = 3
    /// Docker keeps this much of a probe's output, and this many probes.
    static let outputLimit = 4096
    static let logLength = 5

    /// The container's settings over the image's, field by field (a zero or absent one is the
    /// image's), as dockerd stores them in the container's config at creation.
    static func merged(_ own: HealthConfig?, over image: ImageConfig.Healthcheck?) -> HealthConfig? {
        guard own != nil || image != nil else { return nil }
        func pick(_ own: Int64?, _ inherited: Int64?) -> Int64? {
            own.flatMap { $0 > 0 ? $0 : nil } ?? inherited.flatMap { $0 > 0 ? $0 : nil }
        }
        return HealthConfig(
            Test: (own?.Test).flatMap { $0.isEmpty ? nil : $0 } ?? image?.Test,
            Interval: pick(own?.Interval, image?.Interval), Timeout: pick(own?.Timeout, image?.Timeout),
            StartPeriod: pick(own?.StartPeriod, image?.StartPeriod), StartInterval: pick(own?.StartInterval, image?.StartInterval),
            Retries: (own?.Retries).flatMap { $0 > 0 ? $0 : nil } ?? (image?.Retries).flatMap { $0 > 0 ? $0 : nil })
    }

    /// nil when neither sets a test, or the test is `NONE`.
    init?(container: HealthConfig?, image: ImageConfig.Healthcheck?, shell: [String]?) {
        let settings = Self.merged(container, over: image)
        let test = settings?.Test ?? []
        guard let kind = test.first else { return nil }
        switch kind {
        case "CMD":
            command = Array(test.dropFirst())
        case "CMD-SHELL":
            command = (shell.flatMap { $0.isEmpty ? nil : $0 } ?? ["/bin/sh", "-c"]) + [test.dropFirst().joined(separator: " ")]
        default:
            return nil
        }
        guard !command.isEmpty else { return nil }
        interval = settings?.Interval.map(Duration.nanoseconds) ?? Self.defaultInterval
        timeout = settings?.Timeout.map(Duration.nanoseconds) ?? Self.defaultTimeout
        startPeriod = settings?.StartPeriod.map(Duration.nanoseconds) ?? .zero
        startInterval = settings?.StartInterval.map(Duration.nanoseconds) ?? Self.defaultStartInterval
        retries = settings?.Retries ?? Self.defaultRetries
    }

    /// What one probe's result makes of the health so far: Docker's rules, including that
    /// failures within the start period do not count while no probe has succeeded yet.
    static func record(_ result: HealthcheckResult, startedAt: Date, ranAt: Date, into health: ContainerHealth,
                       policy: HealthcheckPolicy) -> ContainerHealth {
        var health = health
        health.Log = Array((health.Log + [result]).suffix(logLength))
        if result.ExitCode == 0 {
            health.FailingStreak = 0
            health.Status = .healthy
            return health
        }
        let sinceStart = ranAt.timeIntervalSince(startedAt)
        let startPeriod = Double(policy.startPeriod.components.seconds) + Double(policy.startPeriod.components.attoseconds) / 1e18
        if health.Status == .starting, sinceStart < startPeriod { return health }
        health.FailingStreak += 1
        if health.FailingStreak >= policy.retries { health.Status = .unhealthy }
        return health
    }
}
