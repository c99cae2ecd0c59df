import APIModels
import Foundation

/// A mount the user asked for (`-v`, `--mount`, `--tmpfs`, or an image's VOLUME), as stored with
/// the container: volumes are resolved to their names at creation.
public struct ContainerMount: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case volume, bind, tmpfs }

    public var kind: Kind
    /// A volume's name; nil until an anonymous one is made at creation.
    public var volume: String?
    /// A bind's host path; empty otherwise.
    public var source: String
    public var target: String
    public var readOnly: Bool
    /// A tmpfs's mount data (`size=…,mode=…`); a bind's propagation.
    public var options: String
    /// Whether a new, empty volume is left empty rather than given the image's files at `target`.
    public var noCopy: Bool
    /// The request named no volume (`-v /path`, an image's VOLUME): `rm -v` removes the one made.
    /// A volume named in the request stays, even an anonymous one, as with dockerd. Records made
    /// before it was kept have nil.
    public var unnamedInRequest: Bool?

    public init(kind: Kind, volume: String? = nil, source: String = "", target: String, readOnly: Bool = false,
                options: String = "", noCopy: Bool = false) {
        self.kind = kind
        self.volume = volume
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.options = options
        self.noCopy = noCopy
    }

    /// The mounts a create request asks for, checked but with nothing made yet: `--mount`, then
    /// `-v`, `--tmpfs` and `-v /path` (anonymous); an image's VOLUMEs fill the targets left. Returned
    /// in the order they are mounted: each parent before what is mounted inside it.
    static func requested(_ host: HostConfig, _ config: ContainerConfig, imageVolumes: [String]) throws -> [ContainerMount] {
        var mounts: [ContainerMount] = []
        for request in host.Mounts ?? [] { mounts.append(try parse(request)) }
        for bind in host.Binds ?? [] { mounts.append(try parse(bind: bind)) }
        for (target, options) in (host.Tmpfs ?? [:]).sorted(by: { $0.key < $1.key }) {
            mounts.append(try tmpfs(target: target, options: options))
        }
        var targets = Set<String>()
        for mount in mounts {
            guard targets.insert(mount.target).inserted else { throw ContainerError.invalid("Duplicate mount point: \(mount.target)") }
        }
        // Anonymous volumes, asked for (`-v /path`) or the image's: only where nothing else is mounted.
        for target in (config.Volumes?.keys.sorted() ?? []) + imageVolumes {
            let cleaned = try checkedTarget(target, spec: target)
            if targets.insert(cleaned).inserted { mounts.append(ContainerMount(kind: .volume, target: cleaned)) }
        }
        let depth = { (mount: ContainerMount) in mount.target.split(separator: "/").count }
        return mounts.sorted { depth($0) < depth($1) }
    }

    /// `source:target[:options]` as Docker reads it on Linux: a source starting with "/" is a host path,
    /// anything else a volume's name.
    static func parse(bind spec: String) throws -> ContainerMount {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), !parts[0].isEmpty else {
            throw ContainerError.invalid("invalid volume specification: '\(spec)'")
        }
        var mount = ContainerMount(kind: parts[0].hasPrefix("/") ? .bind : .volume, target: try checkedTarget(parts[1], spec: spec))
        if mount.kind == .bind { mount.source = parts[0] } else { mount.volume = try VolumeRecord.checkedName(parts[0]) }
        for option in parts.count == 3 ? parts[2].split(separator: ",").map(String.init) : [] {
            switch option {
            case "ro": mount.readOnly = true
            case "rw": mount.readOnly = false
            case "z", "Z": break // SELinux relabelling: nothing to do without SELinux.
            case "nocopy" where mount.kind == .volume: mount.noCopy = true
            case "private", "rprivate", "shared", "rshared", "slave", "rslave":
                guard mount.kind == .bind else { throw ContainerError.invalid("invalid mode: \(option)") }
                mount.options = option
            default: throw ContainerError.invalid("invalid mode: \(option)")
            }
        }
        return mount
    }

    /// One `--mount` entry (`HostConfig.Mounts`).
    static func parse(_ request: MountRequest) throws -> ContainerMount {
        let type = request.Type ?? "volume"
        guard let target = request.Target, !target.isEmpty else {
            throw ContainerError.invalid("invalid mount config for type \"\(type)\": field Target must not be empty")
        }
        let cleaned = try checkedTarget(target, spec: target)
        switch type {
        case "bind":
            guard let source = request.Source, !source.isEmpty else {
                throw ContainerError.invalid("invalid mount config for type \"bind\": field Source must not be empty")
            }
            guard source.hasPrefix("/") else {
                throw ContainerError.invalid("invalid mount config for type \"bind\": invalid mount path: '\(source)' mount path must be absolute")
            }
            return ContainerMount(kind: .bind, source: source, target: cleaned, readOnly: request.ReadOnly == true,
                                  options: request.BindOptions?.Propagation ?? "")
        case "volume":
            let name = try request.Source.flatMap { $0.isEmpty ? nil : try VolumeRecord.checkedName($0) }
            return ContainerMount(kind: .volume, volume: name, target: cleaned, readOnly: request.ReadOnly == true,
                                  noCopy: request.VolumeOptions?.NoCopy == true)
        case "tmpfs":
            if let source = request.Source, !source.isEmpty {
                throw ContainerError.invalid("invalid mount config for type \"tmpfs\": field Source must not be specified")
            }
            var options: [String] = []
            if let size = request.TmpfsOptions?.SizeBytes, size > 0 { options.append("size=\(size)") }
            if let mode = request.TmpfsOptions?.Mode { options.append("mode=" + String(mode, radix: 8)) }
            var mount = try tmpfs(target: cleaned, options: options.joined(separator: ","))
            mount.readOnly = request.ReadOnly == true
            return mount
        default:
            throw ContainerError.invalid("invalid mount config: mount type unknown: \"\(type)\" (bind, volume or tmpfs)")
        }
    }

    /// `--tmpfs target[:options]`: mount flags in `options` are checked here; the rest is tmpfs's data.
    static func tmpfs(target: String, options: String) throws -> ContainerMount {
        var mount = ContainerMount(kind: .tmpfs, target: try checkedTarget(target, spec: target))
        var data: [String] = []
        for option in options.split(separator: ",").map(String.init) {
            switch option {
            case "ro": mount.readOnly = true
            case "rw", "nosuid", "nodev", "noexec": break
            case "exec", "suid", "dev":
                throw ContainerError.invalid("invalid tmpfs option \(option): Berth's tmpfs mounts are always nosuid, nodev and noexec")
            default:
                guard option.hasPrefix("size=") || option.hasPrefix("mode=") || option.hasPrefix("uid=") || option.hasPrefix("gid=")
                        || option.hasPrefix("nr_inodes=") else {
                    throw ContainerError.invalid("invalid tmpfs option: \(option)")
                }
                data.append(option)
            }
        }
        mount.options = data.joined(separator: ",")
        return mount
    }

    private static func checkedTarget(_ target: String, spec: String) throws -> String {
        guard target.hasPrefix("/") else {
            throw ContainerError.invalid("invalid volume specification: '\(spec)': invalid mount config for type \"volume\": "
                + "invalid mount path: '\(target)' mount path must be absolute")
        }
        let cleaned = "/" + target.split(separator: "/").joined(separator: "/")
        guard cleaned != "/" else { throw ContainerError.invalid("invalid volume specification: '\(spec)': destination can't be '/'") }
        guard !target.split(separator: "/").contains("..") else {
            throw ContainerError.invalid("invalid volume specification: '\(spec)': the mount path may not contain '..'")
        }
        return cleaned
    }
}
