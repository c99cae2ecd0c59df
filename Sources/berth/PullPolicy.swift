import APIClient
import APIModels
import ArgumentParser
import Foundation
import OCI

/// `--pull`: when `run`, `create` and `build` fetch an image from its registry.
enum PullPolicy: String, ExpressibleByArgument, CaseIterable {
    case always, missing, never
}

extension ContainerOptions {
    /// Creates the container as `docker run` does: with `missing`, an image that is not here is
    /// pulled (its progress on standard error) and the create tried again; with `always`, pulled first.
    func createContainer(_ request: ContainerCreateRequest, client: BerthClient) async throws -> ContainerCreateResponse {
        let shown = (try? Reference(parsing: image))?.withDefaultTag.familiarDescription ?? image
        if pull == .always {
            try await ImagePull.pull(image, platform: platform, client: client, destination: .standardError, quiet: false, named: false)
        }
        do {
            return try await client.createContainer(request, name: name, platform: platform)
        } catch ClientError.daemon(let status, let message) where status == 404 && message.hasPrefix("No such image") && pull == .missing {
            FileHandle.standardError.write(Data("Unable to find image '\(shown)' locally\n".utf8))
            try await ImagePull.pull(image, platform: platform, client: client, destination: .standardError, quiet: false, named: false)
            return try await client.createContainer(request, name: name, platform: platform)
        }
    }
}
