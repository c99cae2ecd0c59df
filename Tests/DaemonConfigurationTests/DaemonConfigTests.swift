import APIModels
import DaemonConfiguration
import Foundation
import Testing

@Suite struct DaemonConfigTests {
    @Test func readsDockerdsKeys() throws {
        let config = try DaemonConfig.parse(Data("""
            {
              "registry-mirrors": ["http://127.0.0.1:5000/"],
              "insecure-registries": ["registry.test:5000", "10.0.0.0/8"],
              "data-root": "/srv/berth", "exec-root": "/run/b", "bridge": "berth9", "bip": "10.9.0.1/24",
              "userns-remap": "default", "log-level": "warn",
              "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"},
              "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}
            }
            """.utf8))
        #expect(config.resolvedDataRoot == "/srv/berth" && config.resolvedExecRoot == "/run/b" && config.resolvedBridge == "berth9")
        #expect(try config.resolvedBridgeAddress()?.gateway.description == "10.9.0.1")
        #expect(config.resolvedUsernsMode == "auto")
        #expect(try config.resolvedLogLevel() == .warning)
        #expect(config.containerDefaults.logOptions == ["max-size": "10m", "max-file": "3"])
        #expect(config.containerDefaults.ulimits == [Ulimit(Name: "nofile", Soft: 1024, Hard: 2048)])
        let registries = try config.registrySettings()
        #expect(registries.mirrors == ["http://127.0.0.1:5000"])
        #expect(registries.insecureRegistries == ["registry.test:5000"])
        #expect(registries.insecureCIDRs.map(\.description) == ["::1/128", "127.0.0.0/8", "10.0.0.0/8"])
    }

    @Test func emptyFileAndDebugFlag() throws {
        #expect(try DaemonConfig.parse(Data("  \n".utf8)) == DaemonConfig())
        #expect(try DaemonConfig.parse(Data(#"{"debug": true}"#.utf8)).resolvedLogLevel() == .debug)
        #expect(try DaemonConfig.parse(Data(#"{"debug": true, "log-level": "error"}"#.utf8)).resolvedLogLevel() == .error)
    }

    @Test(arguments: [
        (#"{"colour": "blue", "bridge": "berth1"}"#, "the following directives don't match any configuration option: colour"),
        (#"{"registry-mirrors": ["ftp://mirror"]}"#, "invalid value for registry-mirrors"),
        (#"{"registry-mirrors": "http://mirror"}"#, "invalid value for registry-mirrors: expected a list of strings"),
        (#"{"insecure-registries": ["http://r:5000"]}"#, "invalid value for insecure-registries: insecure registry http://r:5000 should not contain '://'"),
        (#"{"insecure-registries": ["10.0.0.0/99"]}"#, "invalid value for insecure-registries: invalid CIDR 10.0.0.0/99"),
        (#"{"bip": "172.17.0.1"}"#, "invalid value for bip"),
        (#"{"bridge": "docker0"}"#, "invalid value for bridge"),
        (#"{"log-level": "chatty"}"#, "invalid value for log-level: unknown level chatty"),
        (#"{"log-driver": "syslog"}"#, "invalid value for log-driver: syslog"),
        (#"{"log-opts": {"max-size": "lots"}}"#, "invalid value for log-opts: invalid max-size: lots"),
        (#"{"log-opts": {"tag": "x"}}"#, "invalid value for log-opts: unknown log opt 'tag'"),
        (#"{"default-ulimits": {"nofiles": {"Soft": 1, "Hard": 2}}}"#, "invalid value for default-ulimits: invalid ulimit type: nofiles"),
        (#"{"default-ulimits": {"nofile": {"Soft": 3, "Hard": 2}}}"#, "invalid value for default-ulimits: ulimit soft limit"),
        (#"{"userns-remap": "someone"}"#, "invalid value for userns-remap"),
        (#"{"data-root": 7}"#, "invalid value for data-root: expected a string"),
        (#"["not", "an", "object"]"#, "not a JSON object"),
    ])
    func refusesWithTheKeyNamed(json: String, message: String) {
        do {
            _ = try DaemonConfig.parse(Data(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func flagsWinOverTheFile() throws {
        let file = try DaemonConfig.parse(Data(#"{"registry-mirrors": ["https://file.example"], "bridge": "berthfile", "log-level": "debug"}"#.utf8))
        var flags = DaemonConfig()
        flags.registryMirrors = ["https://flag.example"]
        let merged = flags.overriding(file)
        #expect(try merged.registrySettings().mirrors == ["https://flag.example"])
        #expect(merged.resolvedBridge == "berthfile")
        #expect(try merged.resolvedLogLevel() == .debug)
        #expect(DaemonConfig().overriding(DaemonConfig()).resolvedDataRoot == "/var/lib/berth")
    }

    @Test func missingFileIsAnErrorOnlyWhenAskedFor() throws {
        let path = NSTemporaryDirectory() + "no-such-\(UUID().uuidString).json"
        #expect(try DaemonConfig.read(path: path, explicitlyRequested: false) == DaemonConfig())
        #expect(throws: DaemonConfigError.self) { try DaemonConfig.read(path: path, explicitlyRequested: true) }
        try Data(#"{"bogus": 1}"#.utf8).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        do {
            _ = try DaemonConfig.read(path: path, explicitlyRequested: false)
            Issue.record("a bad file at the default path was accepted")
        } catch {
            #expect("\(error)" == "unable to configure berthd with file \(path): the following directives don't match any configuration option: bogus")
        }
    }

    @Test func ulimitsReadAsTheCommandLineWritesThem() {
        #expect(Ulimit(parsing: "nofile=1024:2048") == Ulimit(Name: "nofile", Soft: 1024, Hard: 2048))
        #expect(Ulimit(parsing: "nproc=512") == Ulimit(Name: "nproc", Soft: 512, Hard: 512))
        for malformed in ["nofile", "nofile=", "nofile=a:10", "nofile=1:2:3", "nofile=1:b"] {
            #expect(Ulimit(parsing: malformed) == nil, "\(malformed)")
        }
    }
}
