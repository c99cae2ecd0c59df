import HostModel
import VMRuntime

/// The latest host report, replaced when the daemon re-probes (on SIGHUP).
public actor HostState {
    public private(set) var report: HostReport
    /// Where guest kernels are built and cached; nil when this daemon runs no utility VMs.
    let cacheDirectory: String?

    public init(report: HostReport, cacheDirectory: String? = nil) {
        self.report = report
        self.cacheDirectory = cacheDirectory
    }

    public func replace(with report: HostReport) {
        self.report = report
    }

    /// The report with each utility-VM platform's guest kernel looked up now: a kernel built after
    /// the last probe (`guest-kernel/build`) shows at once, as the next VM boots it.
    public func current() -> HostReport {
        guard let cacheDirectory else { return report }
        var fresh = report
        for index in fresh.platforms.indices where fresh.platforms[index].mode == .systemVM {
            fresh.platforms[index].guestKernel = GuestKernel.select(
                platformArchitecture: fresh.platforms[index].platform.architecture, cacheDirectory: cacheDirectory)?.summary
        }
        return fresh
    }
}
