import HostModel

/// The latest host report, replaced when the daemon re-probes (on SIGHUP).
public actor HostState {
    public private(set) var report: HostReport

    public init(report: HostReport) {
        self.report = report
    }

    public func replace(with report: HostReport) {
        self.report = report
    }
}
