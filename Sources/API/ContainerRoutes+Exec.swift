import APIModels
import Engine
import Foundation

extension ContainerRoutes {
    /// Processes started in running containers.
    static func registerExec(on router: inout Router, containers: ContainerService) {
        router.add(.POST, "/containers/{id}/exec") { request in
            var config: ExecConfig
            do {
                config = try JSONDecoder().decode(ExecConfig.self, from: Data(buffer: request.body))
                // dockerd's JSON keys match in any case; docker-py sends this one as `detachKeys`.
                struct LowercaseDetachKeys: Decodable { var detachKeys: String? }
                if config.DetachKeys == nil {
                    config.DetachKeys = try JSONDecoder().decode(LowercaseDetachKeys.self, from: Data(buffer: request.body)).detachKeys
                }
                _ = try config.DetachKeys.flatMap { $0.isEmpty ? nil : $0 }.map(parseDetachKeys)
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError.badRequest("invalid exec config: \(error)")
            }
            let execID = try await mapErrors { try await containers.createExec(id(request), config) }
            return .json(IDResponse(Id: execID), status: .created)
        }
        router.add(.POST, "/exec/{id}/start") { request in
            let start = (try? JSONDecoder().decode(ExecStartConfig.self, from: Data(buffer: request.body))) ?? ExecStartConfig()
            let exec = try await mapErrors { try await containers.exec(id(request)) }
            if start.Detach == true {
                try await mapErrors { try await containers.startExecDetached(exec.id) }
                return HTTPResponse(status: .ok)
            }
            let tty = exec.config.Tty == true
            // As dockerd: the start request's Tty decides the framing, so a tty exec started without
            // it (docker-py's default) has its output in stdout frames.
            let framed = start.Tty != true
            let stdin = exec.config.AttachStdin == true
            let detachKeys = try exec.config.DetachKeys.flatMap { $0.isEmpty ? nil : $0 }.map(parseDetachKeys) ?? defaultDetachKeys
            return hijacked(request, tty: !framed) { connection in
                do {
                    try await containers.startExecAttached(exec.id) { attachment in
                        try await bridge(connection, attachment, forwardInput: stdin, detachKeys: stdin ? detachKeys : nil,
                                         framingTTYOutput: tty && framed)
                    }
                } catch let error as ContainerError {
                    // The head is out; like Docker, say why in the stream, and the exit code tells the rest.
                    let entry = ContainerLogs.Entry(stream: 1, text: "\(error)\r\n", time: "")
                    try await connection.write(frame(entry, tty: !framed, timestamps: false))
                }
            }
        }
        router.add(.GET, "/exec/{id}/json") { request in
            let exec = try await mapErrors { try await containers.exec(id(request)) }
            let config = exec.config
            return .json(ExecInspect(
                ID: exec.id, Running: exec.running, ExitCode: exec.exitCode.map(Int.init), tty: config.Tty == true,
                command: config.Cmd ?? [], privileged: config.Privileged == true, user: config.User ?? "",
                OpenStdin: config.AttachStdin == true, OpenStderr: config.AttachStderr == true,
                OpenStdout: config.AttachStdout == true, ContainerID: exec.containerID, Pid: Int(exec.pid)))
        }
        router.add(.POST, "/exec/{id}/resize") { request in
            guard let rows = request.queryValue("h").flatMap(Int.init), let columns = request.queryValue("w").flatMap(Int.init) else {
                throw APIError.badRequest("h and w are required")
            }
            try await mapErrors { try await containers.resizeExec(id(request), rows: rows, columns: columns) }
            return HTTPResponse(status: .ok)
        }
    }
}
