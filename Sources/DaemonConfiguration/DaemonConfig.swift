import APIModels
import Engine
import Foundation
import Logging
import Networking
import Registry

/// berthd's settings as a configuration file (dockerd's `daemon.json` format) or its flags give
/// them: every field optional, so that flags can win over the file field by field.
public struct DaemonConfig: Sendable, Equatable {
    public var dataRoot: String?
    public var execRoot: String?
    public var bridge: String?
    /// `--bip`: the default network's gateway and prefix, `172.17.0.1/16`.
    public var bridgeAddress: String?
    public var usernsRemap: String?
    public var logLevel: String?
    public var logOptions: [String: String]?
    public var defaultUlimits: [Ulimit]?
    public var registryMirrors: [String]?
    public var insecureRegistries: [String]?

    public init() {}

    /// The keys a configuration file may hold, as dockerd spells them.
    static let keys: Set<String> = [
        "data-root", "exec-root", "bridge", "bip", "userns-remap", "log-level", "debug", "log-driver", "log-opts",
        "default-ulimits", "registry-mirrors", "insecure-registries",
    ]

    public static let defaultPath = "/etc/berth/daemon.json"

    /// Reads a configuration file. A missing file at the default path is an empty configuration;
    /// a missing file that was asked for, an unknown key or a bad value is an error naming it.
    public static func read(path: String, explicitlyRequested: Bool) throws -> DaemonConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            if !explicitlyRequested, !FileManager.default.fileExists(atPath: path) { return DaemonConfig() }
            throw DaemonConfigError(path: path, "open \(path): no such file or permission denied")
        }
        do {
            return try parse(data)
        } catch let error as DaemonConfigError.Problem {
            throw DaemonConfigError(path: path, error.message)
        }
    }

    /// Parses a configuration file's JSON and checks every value.
    public static func parse(_ data: Data) throws -> DaemonConfig {
        let trimmed = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return DaemonConfig() }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw DaemonConfigError.Problem("not a JSON object")
        }
        let unknown = object.keys.filter { !keys.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw DaemonConfigError.Problem("the following directives don't match any configuration option: \(unknown.joined(separator: ", "))")
        }
        var config = DaemonConfig()
        config.dataRoot = try string(object, "data-root")
        config.execRoot = try string(object, "exec-root")
        config.bridge = try string(object, "bridge")
        config.bridgeAddress = try string(object, "bip")
        config.usernsRemap = try string(object, "userns-remap")
        config.logLevel = try string(object, "log-level")
        if let debug = object["debug"] {
            guard let flag = debug as? Bool else {
                throw DaemonConfigError.Problem("invalid value for debug: expected true or false")
            }
            if flag, config.logLevel == nil { config.logLevel = "debug" }
        }
        if let driver = try string(object, "log-driver"), driver != "json-file" {
            throw DaemonConfigError.Problem("invalid value for log-driver: \(driver): Berth logs with json-file only")
        }
        if let options = object["log-opts"] {
            guard let map = options as? [String: Any] else { throw DaemonConfigError.Problem("invalid value for log-opts: expected an object of strings") }
            config.logOptions = try map.mapValues { value in
                guard let text = value as? String else { throw DaemonConfigError.Problem("invalid value for log-opts: expected an object of strings") }
                return text
            }
        }
        if let limits = object["default-ulimits"] {
            guard let map = limits as? [String: Any] else {
                throw DaemonConfigError.Problem("invalid value for default-ulimits: expected an object of {\"Name\", \"Soft\", \"Hard\"}")
            }
            config.defaultUlimits = try map.keys.sorted().map { name in
                guard let entry = map[name] as? [String: Any], let soft = (entry["Soft"] as? NSNumber)?.int64Value,
                      let hard = (entry["Hard"] as? NSNumber)?.int64Value else {
                    throw DaemonConfigError.Problem("invalid value for default-ulimits: \(name) needs integer Soft and Hard")
                }
                if let stated = entry["Name"] as? String, stated != name {
                    throw DaemonConfigError.Problem("invalid value for default-ulimits: \(name) is named \(stated)")
                }
                return Ulimit(Name: name, Soft: soft, Hard: hard)
            }
        }
        config.registryMirrors = try strings(object, "registry-mirrors")
        config.insecureRegistries = try strings(object, "insecure-registries")
        try config.check()
        return config
    }

    /// Each value's own rules, with the key named in the error.
    public func check() throws {
        try checked("bip") { _ = try resolvedBridgeAddress() }
        try checked("bridge") {
            // Isolation between networks drops forwarding from one berth* bridge to another.
            if let bridge, !bridge.hasPrefix("berth") || bridge.utf8.count > 15 {
                throw DaemonConfigError.Problem("a name of at most 15 characters starting with berth")
            }
        }
        try checked("userns-remap") {
            if let usernsRemap, !["", "auto", "default"].contains(usernsRemap) {
                throw DaemonConfigError.Problem("use auto (or default); Berth picks the ids itself")
            }
        }
        try checked("log-level") { _ = try resolvedLogLevel() }
        try checked("log-opts") { try ContainerDefaults.checkLogOptions(logOptions ?? [:]) }
        try checked("default-ulimits") { for limit in defaultUlimits ?? [] { try ContainerDefaults.checkUlimit(limit) } }
        try checked("registry-mirrors") { _ = try RegistrySettings(mirrors: registryMirrors ?? []) }
        try checked("insecure-registries") { _ = try RegistrySettings(insecureRegistries: insecureRegistries ?? []) }
    }

    /// These settings with `other`'s filling the gaps: flags `.overriding(file)`.
    public func overriding(_ other: DaemonConfig) -> DaemonConfig {
        var merged = DaemonConfig()
        merged.dataRoot = dataRoot ?? other.dataRoot
        merged.execRoot = execRoot ?? other.execRoot
        merged.bridge = bridge ?? other.bridge
        merged.bridgeAddress = bridgeAddress ?? other.bridgeAddress
        merged.usernsRemap = usernsRemap ?? other.usernsRemap
        merged.logLevel = logLevel ?? other.logLevel
        merged.logOptions = logOptions ?? other.logOptions
        merged.defaultUlimits = defaultUlimits ?? other.defaultUlimits
        merged.registryMirrors = registryMirrors ?? other.registryMirrors
        merged.insecureRegistries = insecureRegistries ?? other.insecureRegistries
        return merged
    }

    // MARK: Resolved values, defaults filled in

    public var resolvedDataRoot: String { dataRoot ?? "/var/lib/berth" }
    public var resolvedExecRoot: String { execRoot ?? "/run/berth" }
    public var resolvedBridge: String { bridge ?? "berth0" }
    public var resolvedUsernsMode: String { usernsRemap == "default" ? "auto" : usernsRemap ?? "" }

    public func resolvedLogLevel() throws -> Logger.Level {
        switch (logLevel ?? "info").lowercased() {
        case "trace": return .trace
        case "debug": return .debug
        case "info": return .info
        case "notice": return .notice
        case "warn", "warning": return .warning
        case "error": return .error
        case "fatal", "critical": return .critical
        case let other: throw DaemonConfigError.Problem("unknown level \(other): use debug, info, warn, error or fatal")
        }
    }

    public func resolvedBridgeAddress() throws -> (gateway: IPv4Address, subnet: IPv4Subnet)? {
        guard let bridgeAddress else { return nil }
        let parts = bridgeAddress.split(separator: "/")
        guard parts.count == 2, let gateway = IPv4Address(parts[0]), let length = Int(parts[1]), (8...30).contains(length) else {
            throw DaemonConfigError.Problem("an address and prefix length, as 172.17.0.1/16")
        }
        return (gateway, IPv4Subnet(gateway, prefixLength: length))
    }

    public func registrySettings() throws -> RegistrySettings {
        try RegistrySettings(mirrors: registryMirrors ?? [], insecureRegistries: insecureRegistries ?? [])
    }

    public var containerDefaults: ContainerDefaults {
        ContainerDefaults(logOptions: logOptions ?? [:], ulimits: defaultUlimits ?? [])
    }

    // MARK: Reading JSON values

    private func checked(_ key: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let problem as DaemonConfigError.Problem {
            throw DaemonConfigError.Problem("invalid value for \(key): \(problem.message)")
        } catch {
            throw DaemonConfigError.Problem("invalid value for \(key): \(error)")
        }
    }

    private static func string(_ object: [String: Any], _ key: String) throws -> String? {
        guard let value = object[key] else { return nil }
        guard let text = value as? String else { throw DaemonConfigError.Problem("invalid value for \(key): expected a string") }
        return text
    }

    private static func strings(_ object: [String: Any], _ key: String) throws -> [String]? {
        guard let value = object[key] else { return nil }
        guard let list = value as? [Any], let texts = list as? [String], texts.count == list.count else {
            throw DaemonConfigError.Problem("invalid value for \(key): expected a list of strings")
        }
        return texts
    }
}

/// A configuration file berthd cannot use, in dockerd's words.
public struct DaemonConfigError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var message: String

    init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "unable to configure berthd with file \(path): \(message)" }

    /// A problem with one value, before the file it came from is known.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var message: String

        init(_ message: String) {
            self.message = message
        }

        public var description: String { message }
    }
}
