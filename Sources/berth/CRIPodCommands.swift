import ArgumentParser
import CRIClient
import CRIProtocol
import Foundation
import SwiftProtobuf

/// crictl's pod verbs: runp, pods, stopp, rmp.
struct CRIRunPodCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runp", abstract: "Run a pod sandbox from its config (JSON), and print its ID.")

    @OptionGroup var connection: CRIConnectionOptions

    @Option(name: .customLong("runtime"), help: "The RuntimeClass handler (default: the native runtime).")
    var runtimeHandler: String?

    @Argument(help: "A PodSandboxConfig as JSON, the CRI's field names.")
    var config: String

    func run() async throws {
        var request = Runtime_V1_RunPodSandboxRequest()
        request.config = try CRIConfigFile.read(config, as: Runtime_V1_PodSandboxConfig.self)
        request.runtimeHandler = runtimeHandler ?? ""
        print(try await connection.withConnection { try await $0.runtime.runPodSandbox(request) }.podSandboxID)
    }
}

struct CRIPodsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pods", abstract: "List pod sandboxes.")

    @OptionGroup var connection: CRIConnectionOptions

    @Flag(name: .shortAndLong, help: "Only show pod IDs.")
    var quiet = false

    @Option(help: "Only pods of this name.")
    var name: String?

    func run() async throws {
        var pods = try await connection.withConnection { try await $0.runtime.listPodSandbox(.init()) }.items
        if let name { pods = pods.filter { $0.metadata.name == name } }
        pods.sort { $0.createdAt > $1.createdAt }
        if quiet {
            for pod in pods { print(pod.id) }
            return
        }
        let rows = pods.map { pod in
            [String(pod.id.prefix(13)), PsCommand.ago(pod.createdAt / 1_000_000_000),
             pod.state == .sandboxReady ? "Ready" : "NotReady", pod.metadata.name, pod.metadata.namespace,
             "\(pod.metadata.attempt)", pod.runtimeHandler.isEmpty ? "(default)" : pod.runtimeHandler]
        }
        for line in InfoTable.table(header: ["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"], rows: rows) {
            print(line)
        }
    }
}

struct CRIStopPodCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stopp", abstract: "Stop pod sandboxes and their containers.")

    @OptionGroup var connection: CRIConnectionOptions

    @Argument(help: "Pod IDs.")
    var pods: [String]

    func run() async throws {
        try await connection.each(pods, saying: { "Stopped sandbox \($0)" }) { connection, id in
            _ = try await connection.runtime.stopPodSandbox(.with { $0.podSandboxID = id })
        }
    }
}

struct CRIRemovePodCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmp", abstract: "Remove pod sandboxes and their containers.")

    @OptionGroup var connection: CRIConnectionOptions

    @Flag(name: .shortAndLong, help: "Stop running pods first.")
    var force = false

    @Flag(name: .shortAndLong, help: "Every pod.")
    var all = false

    @Argument(help: "Pod IDs.")
    var pods: [String] = []

    func validate() throws {
        guard all || !pods.isEmpty else { throw ValidationError("name the pods to remove, or --all") }
    }

    func run() async throws {
        try await connection.withConnection { connection in
            let chosen = all ? try await connection.runtime.listPodSandbox(.init()).items.map(\.id) : pods
            for pod in chosen {
                let state = try await connection.runtime.podSandboxStatus(.with { $0.podSandboxID = pod }).status.state
                if state == .sandboxReady {
                    guard force else {
                        Output.error("pod sandbox \(pod) is running, stop it first or use --force")
                        throw ExitCode(1)
                    }
                    _ = try await connection.runtime.stopPodSandbox(.with { $0.podSandboxID = pod })
                }
                _ = try await connection.runtime.removePodSandbox(.with { $0.podSandboxID = pod })
                print("Removed sandbox \(pod)")
            }
        }
    }
}

/// The JSON configs crictl reads, with the CRI's own field names (`log_directory`) or their
/// camel-cased JSON names.
enum CRIConfigFile {
    static func read<Message: SwiftProtobuf.Message>(_ path: String, as type: Message.Type) throws -> Message {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        do {
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = true
            return try Message(jsonUTF8Data: data, options: options)
        } catch {
            throw ValidationError("\(path) is not a \(Message.protoMessageName) in JSON: \(error)")
        }
    }
}
