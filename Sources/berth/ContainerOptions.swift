import APIModels
import ArgumentParser
import Foundation

/// The flags of `berth create` and `berth run` that describe the container.
struct ContainerOptions: ParsableArguments {
    @Option(help: "Name of the container.")
    var name: String?

    @Option(name: [.short, .customLong("env")], help: "Environment variable NAME=value (NAME alone takes it from here). Repeatable.")
    var environment: [String] = []

    @Option(name: .customLong("env-file"), help: "File of NAME=value lines. Repeatable.")
    var environmentFiles: [String] = []

    @Option(name: [.short, .customLong("workdir")], help: "Working directory inside the container.")
    var workingDirectory: String?

    @Option(name: [.short, .long], help: "User: name|uid[:group|gid].")
    var user: String?

    @Option(help: "Replace the image's entrypoint (\"\" clears it).")
    var entrypoint: String?

    @Option(help: "Hostname of the container.")
    var hostname: String?

    @Flag(name: .short, help: "Keep standard input open.")
    var interactive = false

    @Flag(name: .short, help: "Give the container a terminal.")
    var tty = false

    @Option(help: "Network: bridge (the default), a network's name or ID, none, host, or container:NAME (another running container's).")
    var network: String?

    @Option(name: .customLong("network-alias"), help: "Another name the container answers to on its network. Repeatable.")
    var networkAliases: [String] = []

    @Option(help: "The container's IPv4 address on its network.")
    var ip: String?

    @Option(help: "The container's IPv6 address on its network (an IPv6 network).")
    var ip6: String?

    @Option(name: .customLong("mac-address"), help: "The container's MAC address on its network, e.g. 02:42:ac:11:00:02.")
    var macAddress: String?

    @Option(name: .customLong("link-local-ip"), help: "A further link-local address (169.254.0.0/16) on its network. Repeatable.")
    var linkLocalIPs: [String] = []

    @Option(name: [.short, .customLong("publish")], help: "Publish a port, [ip:][hostPort:]containerPort[/tcp|udp]. Repeatable.")
    var publish: [String] = []

    @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Publish every exposed port on a free host port.")
    var publishAll = false

    @Option(help: "Expose a port, port[/tcp|udp]. Repeatable.")
    var expose: [String] = []

    @Option(help: "process (the default: namespaces on this kernel) or vm (a utility VM with its own kernel; hyperv also works).")
    var isolation: String?

    @Option(help: "For an image of another architecture: system (a utility VM of that architecture, the default) or user (qemu-user on this kernel).")
    var emulation: String?

    @Option(name: .customLong("vm-accel"), help: "The utility VM's accelerator, kvm or tcg, instead of the one the host probe chose.")
    var vmAccelerator: String?

    @Option(name: .customLong("vm-kernel"),
            help: "The utility VM's guest kernel: minimal, stock (Debian's), the release of one in the cache, or a kernel image's path.")
    var vmKernel: String?

    @Option(help: "User namespace: host (the default) or auto (the container's ids map to a block of host ids of its own).")
    var userns: String?

    @Option(name: [.short, .long], help: "Memory limit, e.g. 64m.")
    var memory: String?

    @Option(name: .customLong("memory-swap"), help: "Memory plus swap limit; -1 for unlimited swap.")
    var memorySwap: String?

    @Option(help: "CPUs, e.g. 1.5.")
    var cpus: Double?

    @Option(name: [.customShort("c"), .customLong("cpu-shares")], help: "Relative CPU weight (default 1024).")
    var cpuShares: Int64?

    @Option(name: .customLong("pids-limit"), help: "Most processes at once (-1 for no limit).")
    var pidsLimit: Int64?

    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit, e.g. 32m.")
    var memoryReservation: String?

    @Option(name: .customLong("memory-swappiness"), help: "How readily the container's memory is swapped out (0 to 100).")
    var memorySwappiness: Int64?

    @Option(name: .customLong("cpuset-cpus"), help: "CPUs the container may use (0-3, 0,1).")
    var cpusetCpus: String?

    @Option(name: .customLong("cpuset-mems"), help: "Memory nodes the container may use (0-3, 0,1).")
    var cpusetMems: String?

    @Option(name: .customLong("cap-add"), help: "Add a capability. Repeatable.")
    var capAdd: [String] = []

    @Option(name: .customLong("cap-drop"), help: "Drop a capability (ALL drops every one). Repeatable.")
    var capDrop: [String] = []

    @Flag(help: "Give the container every capability, the host's devices, and no seccomp filter.")
    var privileged = false

    @Flag(name: .customLong("read-only"), help: "Mount the container's root read-only.")
    var readOnly = false

    @Flag(help: "Run a tiny init as PID 1 that reaps orphans and passes signals on.")
    var `init` = false

    @Option(name: .customLong("security-opt"), help: "no-new-privileges, seccomp=unconfined, seccomp=PROFILE.json (Docker's format). Repeatable.")
    var securityOptions: [String] = []

    @Option(help: "Resource limit NAME=soft[:hard], e.g. nofile=1024:2048. Repeatable.")
    var ulimit: [String] = []

    @Option(name: .customLong("log-opt"), help: "Log option: max-size=10m, max-file=3. Repeatable.")
    var logOptions: [String] = []

    @Option(name: [.customShort("l"), .customLong("label")], help: "Label KEY=value. Repeatable.")
    var labels: [String] = []

    @Option(name: .customLong("stop-signal"), help: "Signal that stops the container (default SIGTERM).")
    var stopSignal: String?

    @Option(name: .customLong("health-cmd"), help: "Command to run to check health (through the container's shell).")
    var healthCommand: String?

    @Option(name: .customLong("health-interval"), help: "Time between running the check (ms|s|m|h), 30s by default.")
    var healthInterval: String?

    @Option(name: .customLong("health-timeout"), help: "Maximum time a check may run (ms|s|m|h), 30s by default.")
    var healthTimeout: String?

    @Option(name: .customLong("health-retries"), help: "Consecutive failures needed to report unhealthy.")
    var healthRetries: Int?

    @Option(name: .customLong("health-start-period"), help: "Start period: failures before it ends do not count (ms|s|m|h).")
    var healthStartPeriod: String?

    @Option(name: .customLong("health-start-interval"), help: "Time between checks during the start period (ms|s|m|h).")
    var healthStartInterval: String?

    @Flag(name: .customLong("no-healthcheck"), help: "Disable any container-specified HEALTHCHECK.")
    var noHealthcheck = false

    @Option(name: .customLong("volumes-from"), help: "Mount the volumes of a container, CONTAINER[:ro|:rw]. Repeatable.")
    var volumesFrom: [String] = []

    @Option(name: .customLong("volume-driver"), help: "Driver of the volumes the container makes (local).")
    var volumeDriver: String?

    @Option(help: "Runtime: berth (the default; runc names it too) or berth-vm (a utility VM).")
    var runtime: String?

    @Option(help: "Link to another container, CONTAINER[:ALIAS]: its address under ALIAS, its ports and environment as variables. Repeatable.")
    var link: [String] = []

    @Option(help: "Cgroup namespace: private (its cgroups are its root) or host.")
    var cgroupns: String?

    @Option(help: "IPC namespace: private (the default), shareable (others may join it), host, none (no /dev/shm), or container:NAME (a shareable one's).")
    var ipc: String?

    @Option(help: "PID namespace: host, or container:NAME to see and signal that container's processes.")
    var pid: String?

    @Option(help: "UTS namespace (hostname): host, or container:NAME.")
    var uts: String?

    @Option(help: "A name server for /etc/resolv.conf, instead of the host's. Repeatable.")
    var dns: [String] = []

    @Option(name: .customLong("dns-search"), help: "A search domain for /etc/resolv.conf, instead of the host's. Repeatable.")
    var dnsSearch: [String] = []

    @Option(name: .customLong("dns-option"), help: "A resolver option for /etc/resolv.conf (ndots:2, …), instead of the host's. Repeatable.")
    var dnsOption: [String] = []

    @Option(name: .customLong("sysctl"), help: "A kernel setting of the container's own IPC or network namespace, NAME=VALUE. Repeatable.")
    var sysctl: [String] = []

    @Option(name: .customLong("device-cgroup-rule"), help: "Allow a device in the devices cgroup, e.g. 'c 7:128 rwm'. Repeatable.")
    var deviceCgroupRules: [String] = []

    @Option(name: .customLong("stop-timeout"), help: "Seconds to wait after the stop signal before SIGKILL.")
    var stopTimeout: Int?

    @Option(name: [.short, .long], help: "A volume or bind mount, [name|/host/path:]/container/path[:ro]. Repeatable.")
    var volume: [String] = []

    @Option(help: "A mount, type=bind|volume|tmpfs,source=…,target=…[,readonly]. Repeatable.")
    var mount: [String] = []

    @Option(help: "A tmpfs mount, /container/path[:size=64m,mode=1777]. Repeatable.")
    var tmpfs: [String] = []

    @Option(help: "Platform of the image, e.g. linux/amd64.")
    var platform: String?

    @Option(help: "When to pull the image first: always, missing (when it is not here) or never.")
    var pull: PullPolicy = .missing

    @Flag(help: "Remove the container when it exits.")
    var rm = false

    @Option(help: "Restart policy: no, always, unless-stopped, on-failure[:max-retries].")
    var restart: String?

    @Argument(help: "Image to run.")
    var image: String

    @Argument(parsing: .captureForPassthrough, help: "Command and arguments (default: the image's).")
    var command: [String] = []

    /// Docker's `--mount` syntax: comma-separated key=value fields.
    static func parseMount(_ text: String) throws -> MountRequest {
        var request = MountRequest()
        for field in text.split(separator: ",").map(String.init) {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0].lowercased()
            let value = parts.count > 1 ? parts[1] : nil
            switch key {
            case "type": request.Type = value
            case "source", "src": request.Source = value
            case "target", "destination", "dst": request.Target = value
            case "readonly", "ro":
                guard let flag = value.map({ ["true", "1"].contains($0.lowercased()) ? true : ["false", "0"].contains($0.lowercased()) ? false : nil }) ?? true
                else { throw ValidationError("invalid value for \(key): \(value ?? "")") }
                request.ReadOnly = flag
            case "volume-nocopy": request.VolumeOptions = .init(NoCopy: value.map { ["true", "1"].contains($0.lowercased()) } ?? true)
            case "bind-propagation": request.BindOptions = .init(Propagation: value)
            case "tmpfs-size":
                guard let value else { throw ValidationError("invalid value for tmpfs-size") }
                request.TmpfsOptions = .init(SizeBytes: try parseBytes(value), Mode: request.TmpfsOptions?.Mode)
            case "tmpfs-mode":
                guard let value, let mode = UInt32(value, radix: 8) else { throw ValidationError("invalid value for tmpfs-mode: \(value ?? "")") }
                request.TmpfsOptions = .init(SizeBytes: request.TmpfsOptions?.SizeBytes, Mode: mode)
            default: throw ValidationError("unexpected key '\(key)' in '\(field)'")
            }
        }
        return request
    }

    /// `--health-*` and `--no-healthcheck`, as the docker CLI turns them into `Config.Healthcheck`.
    func healthcheck() throws -> HealthConfig? {
        let timings = [healthInterval, healthTimeout, healthStartPeriod, healthStartInterval]
        if noHealthcheck {
            guard healthCommand == nil, timings.allSatisfy({ $0 == nil }), healthRetries == nil else {
                throw ValidationError("--no-healthcheck conflicts with --health-* options")
            }
            return HealthConfig(Test: ["NONE"])
        }
        guard healthCommand != nil || timings.contains(where: { $0 != nil }) || healthRetries != nil else { return nil }
        func nanoseconds(_ text: String?, _ flag: String) throws -> Int64? {
            guard let text else { return nil }
            guard let value = GoDuration.nanoseconds(text), value >= 0 else { throw ValidationError("invalid duration for --\(flag): \(text)") }
            return value
        }
        if let healthRetries, healthRetries < 0 { throw ValidationError("--health-retries cannot be negative") }
        return HealthConfig(
            Test: healthCommand.map { ["CMD-SHELL", $0] }, Interval: try nanoseconds(healthInterval, "health-interval"),
            Timeout: try nanoseconds(healthTimeout, "health-timeout"), StartPeriod: try nanoseconds(healthStartPeriod, "health-start-period"),
            StartInterval: try nanoseconds(healthStartInterval, "health-start-interval"), Retries: healthRetries)
    }

    func request() throws -> ContainerCreateRequest {
        var config = ContainerConfig()
        config.Image = image
        config.Cmd = command.isEmpty ? nil : StringOrList(command)
        config.Entrypoint = entrypoint.map { StringOrList([$0]) }
        config.User = user
        config.WorkingDir = workingDirectory
        config.Hostname = hostname
        config.Tty = tty
        config.OpenStdin = interactive
        config.StdinOnce = interactive
        config.AttachStdin = interactive
        config.AttachStdout = true
        config.AttachStderr = true
        config.StopSignal = stopSignal
        config.Healthcheck = try healthcheck()
        config.StopTimeout = stopTimeout
        var variables: [String] = []
        for file in environmentFiles {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read env file \(file)") }
            for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
                variables.append(expand(String(line)))
            }
        }
        variables += environment.map(expand)
        config.Env = variables.isEmpty ? nil : variables
        config.Labels = labels.isEmpty ? nil : KeyValueArguments.labels(labels)

        var host = HostConfig()
        // `-v /path` alone asks for an anonymous volume, which Docker's API takes in Config.Volumes.
        let anonymous = volume.filter { !$0.contains(":") }
        config.Volumes = anonymous.isEmpty ? nil : Dictionary(anonymous.map { ($0, JSONValue.object([:])) }, uniquingKeysWith: { $1 })
        let binds = volume.filter { $0.contains(":") }
        host.Binds = binds.isEmpty ? nil : binds
        host.Mounts = mount.isEmpty ? nil : try mount.map(Self.parseMount)
        host.Tmpfs = tmpfs.isEmpty ? nil : Dictionary(tmpfs.map { text in
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }, uniquingKeysWith: { $1 })
        host.NetworkMode = network
        var bindings: [String: [PortBinding]] = [:]
        for text in publish {
            let (key, binding) = try Self.parsePublish(text)
            bindings[key, default: []].append(binding)
        }
        host.PortBindings = bindings.isEmpty ? nil : bindings
        host.PublishAllPorts = publishAll ? true : nil
        let exposed = expose.map { $0.contains("/") ? $0 : $0 + "/tcp" } + bindings.keys
        config.ExposedPorts = exposed.isEmpty ? nil : Dictionary(exposed.map { ($0, JSONValue.object([:])) }, uniquingKeysWith: { $1 })
        host.UsernsMode = userns
        host.Isolation = isolation
        if tty { host.ConsoleSize = WindowSizeWatcher.consoleSize }
        var annotations: [String: String] = [:]
        annotations[HostConfig.vmAcceleratorAnnotation] = vmAccelerator
        annotations[HostConfig.vmKernelAnnotation] = vmKernel.map(Self.absoluteKernelChoice)
        annotations[HostConfig.emulationAnnotation] = emulation
        host.Annotations = annotations.isEmpty ? nil : annotations
        host.AutoRemove = rm
        host.RestartPolicy = try restart.map(Self.restartPolicy)
        host.Memory = try memory.map(Self.parseBytes)
        host.MemorySwap = try memorySwap.map { $0 == "-1" ? -1 : try Self.parseBytes($0) }
        host.NanoCpus = cpus.map { Int64($0 * 1_000_000_000) }
        host.CpuShares = cpuShares
        host.PidsLimit = pidsLimit
        host.MemoryReservation = try memoryReservation.map(Self.parseBytes)
        if let memorySwappiness, !(0...100).contains(memorySwappiness) {
            throw ValidationError("invalid value: \(memorySwappiness). Valid memory swappiness range is 0-100")
        }
        host.MemorySwappiness = memorySwappiness
        host.CpusetCpus = cpusetCpus
        host.CpusetMems = cpusetMems
        host.VolumesFrom = volumesFrom.isEmpty ? nil : volumesFrom
        host.VolumeDriver = volumeDriver
        host.Runtime = runtime
        host.CgroupnsMode = cgroupns
        host.IpcMode = ipc
        host.PidMode = pid
        host.UTSMode = uts
        if !dns.isEmpty { host.Dns = dns }
        if !dnsSearch.isEmpty { host.DnsSearch = dnsSearch }
        if !dnsOption.isEmpty { host.DnsOptions = dnsOption }
        if !sysctl.isEmpty {
            var settings: [String: String] = [:]
            for setting in sysctl {
                guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
                    throw ValidationError("invalid argument \"\(setting)\" for \"--sysctl\" flag: sysctl must be in the format NAME=VALUE")
                }
                settings[String(setting[..<equals])] = String(setting[setting.index(after: equals)...])
            }
            host.Sysctls = settings
        }
        host.Links = link.isEmpty ? nil : link
        host.DeviceCgroupRules = deviceCgroupRules.isEmpty ? nil : deviceCgroupRules
        host.CapAdd = capAdd
        host.CapDrop = capDrop
        host.Privileged = privileged
        host.ReadonlyRootfs = readOnly
        host.Init = `init`
        host.SecurityOpt = try securityOptions.map(Self.sendingSeccompProfile)
        host.Ulimits = try ulimit.map { text in
            guard let limit = Ulimit(parsing: text) else { throw ValidationError("invalid ulimit: \(text)") }
            return limit
        }
        if !logOptions.isEmpty {
            host.LogConfig = LogConfig(Type: "json-file", Config: Dictionary(try logOptions.map { text in
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("invalid log option: \(text)") }
                return (parts[0], parts[1])
            }, uniquingKeysWith: { $1 }))
        }
        var networking: NetworkingConfig?
        if !networkAliases.isEmpty || ip != nil || ip6 != nil || macAddress != nil || !linkLocalIPs.isEmpty {
            let addresses = ip != nil || ip6 != nil || !linkLocalIPs.isEmpty
                ? EndpointIPAMConfig(IPv4Address: ip, IPv6Address: ip6, LinkLocalIPs: linkLocalIPs.isEmpty ? nil : linkLocalIPs) : nil
            var endpoint = EndpointSettings(IPAMConfig: addresses, Aliases: networkAliases.isEmpty ? nil : networkAliases)
            endpoint.MacAddress = macAddress
            networking = NetworkingConfig(EndpointsConfig: [network ?? "bridge": endpoint])
        }
        return ContainerCreateRequest(config: config, hostConfig: host, networkingConfig: networking)
    }

    /// `NAME` alone takes the value from this environment, as Docker's `-e NAME` does.
    private func expand(_ variable: String) -> String {
        if variable.contains("=") { return variable }
        return ProcessInfo.processInfo.environment[variable].map { "\(variable)=\($0)" } ?? variable
    }

    /// `-p`: `containerPort`, `hostPort:containerPort` or `ip:hostPort:containerPort` (hostPort may be
    /// empty), with an optional `/tcp` or `/udp`.
    static func parsePublish(_ text: String) throws -> (String, PortBinding) {
        let halves = text.split(separator: "/", maxSplits: 1).map(String.init)
        let proto = halves.count > 1 ? halves[1] : "tcp"
        let parts = (halves.first ?? "").split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), let container = parts.last, UInt16(container) != nil, ["tcp", "udp"].contains(proto) else {
            throw ValidationError("invalid publish spec \(text): use [ip:][hostPort:]containerPort[/tcp|udp]")
        }
        let binding = PortBinding(HostIp: parts.count == 3 ? parts[0] : nil, HostPort: parts.count >= 2 ? parts[parts.count - 2] : nil)
        return (container + "/" + proto, binding)
    }

    /// `seccomp=PATH` becomes `seccomp=CONTENT`, as the docker CLI sends it: the profile is read here.
    static func sendingSeccompProfile(_ option: String) throws -> String {
        guard option.hasPrefix("seccomp="), case let path = String(option.dropFirst("seccomp=".count)),
              path != "unconfined", path != "builtin", !path.hasPrefix("{") else { return option }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("opening seccomp profile (\(path)) failed: no such file or not readable")
        }
        return "seccomp=" + String(decoding: data, as: UTF8.self)
    }

    /// `--restart NAME[:MAX-RETRIES]`.
    static func restartPolicy(_ text: String) throws -> RestartPolicy {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, parts.count == 1 || Int(parts[1]) != nil else { throw ValidationError("invalid restart policy: \(text)") }
        return RestartPolicy(Name: name, MaximumRetryCount: parts.count == 2 ? Int(parts[1]) : nil)
    }

    /// `--vm-kernel`: a name as given, a path made absolute (berthd reads it, from its own directory).
    static func absoluteKernelChoice(_ text: String) -> String {
        guard text.contains("/"), !text.hasPrefix("/") else { return text }
        return URL(fileURLWithPath: text, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }

    static func parseBytes(_ text: String) throws -> Int64 {
        let lower = text.lowercased()
        let units: [(String, Int64)] = [("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let value = Double(lower.dropLast()) else { break }
            return Int64(value * Double(factor))
        }
        guard let value = Int64(lower) else { throw ValidationError("invalid size: \(text)") }
        return value
    }
}
