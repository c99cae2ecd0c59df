import ImageStore

/// A container's files as `cp` and `export` reach them, every path resolved inside its root: the
/// host's view of a native root (`RootedFiles`), or the guest agent's of a VM container's.
public protocol ContainerFiles {
    /// What Docker's `X-Docker-Container-Path-Stat` header says of `path`.
    func stat(_ path: String) throws -> RootedFiles.PathStat
    /// `path` as a tar at `output` whose top entry is its base name (the root's entries for "/").
    func archive(_ path: String, to output: String) throws
    /// The tar at `tarPath` unpacked into the directory `path`.
    func extract(_ tarPath: String, into path: String) throws
}

extension RootedFiles: ContainerFiles {}
