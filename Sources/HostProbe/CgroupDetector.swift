import Foundation
import HostModel
import SystemSupport

/// Works out the cgroup layout from `/proc/self/mountinfo`.
public enum CgroupDetector {
    public static func detect(mountInfoPath: String = "/proc/self/mountinfo") -> CgroupReport {
        let text = ProcFile.text(mountInfoPath) ?? ""
        var report = parse(mountInfo: text)
        if let unified = report.unifiedMountPoint,
           let controllers = try? String(contentsOfFile: unified + "/cgroup.controllers", encoding: .utf8) {
            report.v2Controllers = controllers.split(whereSeparator: \.isWhitespace).map(String.init).sorted()
        }
        return report
    }

    /// Classifies the cgroup mounts listed in a mountinfo text; v2 controllers are left empty.
    public static func parse(mountInfo: String) -> CgroupReport {
        var v1Controllers = Set<String>()
        var unifiedMountPoint: String?
        for line in mountInfo.split(separator: "\n") {
            // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
            let fields = line.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, fields.count > dash + 3 else { continue }
            let mountPoint = fields[4]
            let fsType = fields[dash + 1]
            if fsType == "cgroup2" {
                if unifiedMountPoint == nil || mountPoint == "/sys/fs/cgroup" { unifiedMountPoint = mountPoint }
            } else if fsType == "cgroup" {
                let known: Set<String> = [
                    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio",
                    "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc",
                ]
                for option in fields[dash + 3].split(separator: ",") where known.contains(String(option)) {
                    v1Controllers.insert(String(option))
                }
            }
        }
        let layout: CgroupReport.Layout
        switch (v1Controllers.isEmpty, unifiedMountPoint) {
        case (true, .some): layout = .v2
        case (false, .some): layout = .hybrid
        default: layout = .v1
        }
        return CgroupReport(
            layout: layout, v1Controllers: v1Controllers.sorted(), unifiedMountPoint: unifiedMountPoint, v2Controllers: [])
    }
}
