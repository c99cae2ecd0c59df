import APIModels
import Engine
import Foundation
import NIOCore
import OCI

/// `POST /build`: Docker's classic builder API. The body is the context as a tar (compressed or
/// not); the answer streams the build's output as `{"stream": …}` lines, the image's ID as
/// `{"aux": {"ID": …}}`, and a failure as an `errorDetail` line.
public enum BuildRoutes {
    public static func register(on router: inout Router, builder: ImageBuilder, spoolDirectory: String) {
        router.add(.POST, "/build", spoolBody: true) { request in
            var build = ImageBuilder.Request(context: "")
            build.dockerfile = request.queryValue("dockerfile").flatMap { $0.isEmpty ? nil : $0 } ?? "Dockerfile"
            build.tags = try (request.query["t"] ?? []).filter { !$0.isEmpty }.map(ImageRoutes.parseReference)
            build.buildArguments = try jsonObject(request.queryValue("buildargs"), "buildargs").compactMapValues { $0 }
            build.labels = try jsonObject(request.queryValue("labels"), "labels").compactMapValues { $0 }
            build.target = request.queryValue("target").flatMap { $0.isEmpty ? nil : $0 }
            build.noCache = request.queryFlag("nocache")
            build.pull = try pullPolicy(request.queryValue("pull"))
            build.credentials = try RegistryAuthHeader.credentialsByRegistry(from: request.headers)
            build.cacheFrom = try jsonList(request.queryValue("cachefrom"), "cachefrom")
            build.networkMode = request.queryValue("networkmode").flatMap { $0.isEmpty || $0 == "default" ? nil : $0 }
            build.extraHosts = (request.query["extrahosts"] ?? []).flatMap { $0.split(separator: ",").map(String.init) }
            build.platform = try request.queryValue("platform").flatMap { $0.isEmpty ? nil : $0 }.map(ImageRoutes.parsePlatform)
            if let remote = request.queryValue("remote"), !remote.isEmpty {
                throw APIError.badRequest("remote build contexts are not available: builds run offline; send the context")
            }
            let context = spoolDirectory + "/build-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
            do {
                try ImageBuilder.unpackContext(request.bodyFile, into: context)
            } catch {
                try? FileManager.default.removeItem(atPath: context)
                throw APIError.badRequest("reading the build context: \(error)")
            }
            build.context = context
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            @Sendable func emit(_ message: ProgressMessage) {
                guard var data = try? JSONEncoder().encode(message) else { return }
                data.append(UInt8(ascii: "\n"))
                continuation.yield(ByteBuffer(bytes: data))
            }
            // `q=1` (`docker build -q`): the steps' output stays in the daemon, the image's ID is the answer.
            let quiet = request.queryFlag("q")
            let task = Task {
                do {
                    let image = try await builder.build(build, progress: { if !quiet { emit(ProgressMessage(stream: $0)) } },
                                                        built: { emit(ProgressMessage(aux: ["ID": $0.id.description])) })
                    if quiet { emit(ProgressMessage(stream: image.id.description + "\n")) }
                } catch let ContainerError.startFailed(code, message) {
                    // A RUN step's failure carries its command's exit code, as in dockerd's errorDetail.
                    emit(ProgressMessage(error: message, code: Int(code)))
                } catch {
                    emit(ProgressMessage(error: "\(error)"))
                }
                try? FileManager.default.removeItem(atPath: context)
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
            return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .stream(stream))
        }
    }

    /// Docker sends `pull=1` for `--pull`; podman's spellings name the policy. Without it a base
    /// image is pulled only when missing, as Docker's classic builder does.
    static func pullPolicy(_ value: String?) throws -> ImageBuilder.PullPolicy {
        switch value?.lowercased() {
        case nil, "", "0", "false", "missing", "ifmissing": return .missing
        case "1", "true", "always": return .always
        case "never": return .never
        case let other?: throw APIError.badRequest("invalid pull policy \"\(other)\": use always, missing or never")
        }
    }

    /// A JSON object of strings (or nulls) from a query value; empty when absent.
    static func jsonObject(_ text: String?, _ name: String) throws -> [String: String?] {
        guard let text, !text.isEmpty else { return [:] }
        guard let object = try? JSONDecoder().decode([String: String?].self, from: Data(text.utf8)) else {
            throw APIError.badRequest("invalid \(name): a JSON object of strings")
        }
        return object
    }

    /// A JSON array of strings from a query value; empty when absent.
    static func jsonList(_ text: String?, _ name: String) throws -> [String] {
        guard let text, !text.isEmpty else { return [] }
        guard let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
            throw APIError.badRequest("invalid \(name): a JSON array of strings")
        }
        return list
    }
}
