import APIModels
import Foundation
import NativeRuntime

/// The state column keeps the flat shape it had before phases (`status`, `pid`, `exitCode`…), so
/// rows written by earlier versions read as they were, and the phase is rebuilt from `status`.
extension ContainerRecord.State: Codable {
    private enum Key: String, CodingKey {
        case status, pid, shimPID, exitCode, error, oomKilled, startedAt, finishedAt, restartCount, manuallyStopped, cgroup
        case userNamespace, platformDecision, utilityVM, mounts, networks, publishedPorts, health
    }

    public init(from decoder: Decoder) throws {
        let row = try decoder.container(keyedBy: Key.self)
        restartCount = try row.decodeIfPresent(Int.self, forKey: .restartCount) ?? 0
        manuallyStopped = try row.decodeIfPresent(Bool.self, forKey: .manuallyStopped)
        userNamespace = try row.decodeIfPresent(UserNamespaceMapping.self, forKey: .userNamespace)
        platformDecision = try row.decodeIfPresent(PlatformDecision.self, forKey: .platformDecision)
        mounts = try row.decodeIfPresent([ContainerMount].self, forKey: .mounts)
        networks = try row.decodeIfPresent([NetworkAttachment].self, forKey: .networks)
        health = try row.decodeIfPresent(ContainerHealth.self, forKey: .health)

        let status = try row.decodeIfPresent(ContainerRecord.Status.self, forKey: .status) ?? .created
        let code = try row.decodeIfPresent(Int32.self, forKey: .exitCode) ?? 0
        let error = try row.decodeIfPresent(String.self, forKey: .error) ?? ""
        let startedAt = try row.decodeIfPresent(Date.self, forKey: .startedAt)
        let cgroup = try row.decodeIfPresent(ContainerCgroup.self, forKey: .cgroup)
        let utilityVM = try row.decodeIfPresent(ContainerRuntimeDetails.UtilityVM.self, forKey: .utilityVM)
        let exit = ContainerRecord.Exit(
            code: code, error: error, oomKilled: try row.decodeIfPresent(Bool.self, forKey: .oomKilled) ?? false, startedAt: startedAt,
            finishedAt: try row.decodeIfPresent(Date.self, forKey: .finishedAt) ?? startedAt ?? Date(timeIntervalSince1970: 0),
            utilityVM: utilityVM)
        let run = ContainerRecord.Run(
            pid: try row.decodeIfPresent(Int32.self, forKey: .pid) ?? 0, supervisorPID: try row.decodeIfPresent(Int32.self, forKey: .shimPID) ?? 0,
            startedAt: startedAt ?? Date(timeIntervalSince1970: 0), cgroup: cgroup, utilityVM: utilityVM,
            publishedPorts: try row.decodeIfPresent([PublishedPort].self, forKey: .publishedPorts) ?? [])
        switch status {
        case .created:
            phase = .created(preparedCgroup: cgroup, failure: code != 0 || !error.isEmpty ? .init(code: code, message: error) : nil)
        case .running: phase = .running(run)
        case .paused: phase = .paused(run)
        case .restarting: phase = .restarting(after: exit)
        case .exited: phase = .exited(exit, failure: nil)
        case .removing: phase = .removing
        case .dead: phase = .dead
        }
    }

    public func encode(to encoder: Encoder) throws {
        var row = encoder.container(keyedBy: Key.self)
        try row.encode(status, forKey: .status)
        try row.encode(pid, forKey: .pid)
        try row.encode(shimPID, forKey: .shimPID)
        try row.encode(exitCode, forKey: .exitCode)
        try row.encode(error, forKey: .error)
        try row.encode(oomKilled, forKey: .oomKilled)
        try row.encodeIfPresent(startedAt, forKey: .startedAt)
        try row.encodeIfPresent(finishedAt, forKey: .finishedAt)
        try row.encode(restartCount, forKey: .restartCount)
        try row.encodeIfPresent(manuallyStopped, forKey: .manuallyStopped)
        try row.encodeIfPresent(cgroup, forKey: .cgroup)
        try row.encodeIfPresent(userNamespace, forKey: .userNamespace)
        try row.encodeIfPresent(platformDecision, forKey: .platformDecision)
        try row.encodeIfPresent(utilityVM, forKey: .utilityVM)
        try row.encodeIfPresent(mounts, forKey: .mounts)
        try row.encodeIfPresent(networks, forKey: .networks)
        try row.encodeIfPresent(publishedPorts, forKey: .publishedPorts)
        try row.encodeIfPresent(health, forKey: .health)
    }
}
