/// An image's configuration blob (OCI image config / Docker image JSON). Unknown fields are kept
/// out; Berth rewrites no config it did not build, so digests of pulled images never change.
public struct ImageConfig: Codable, Sendable, Equatable {
    public struct Container: Codable, Sendable, Equatable {
        public var User: String?
        public var ExposedPorts: [String: EmptyObject]?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var Volumes: [String: EmptyObject]?
        public var WorkingDir: String?
        public var Labels: [String: String]?
        public var StopSignal: String?
        public var Healthcheck: Healthcheck?
        /// ONBUILD triggers, run by builds that start FROM this image.
        public var OnBuild: [String]?
        /// SHELL: what shell-form commands run in.
        public var Shell: [String]?

        public init() {}
    }

    /// HEALTHCHECK: the test (`["CMD", …]`, `["CMD-SHELL", "…"]` or `["NONE"]`) and its timing in nanoseconds.
    public struct Healthcheck: Codable, Sendable, Equatable {
        public var Test: [String]?
        public var Interval: Int64?
        public var Timeout: Int64?
        public var StartPeriod: Int64?
        public var StartInterval: Int64?
        public var Retries: Int?

        public init(Test: [String]?) { self.Test = Test }
    }

    public struct RootFS: Codable, Sendable, Equatable {
        public var type: String
        public var diff_ids: [Digest]

        public init(diffIDs: [Digest]) {
            type = "layers"
            diff_ids = diffIDs
        }
    }

    public struct History: Codable, Sendable, Equatable {
        public var created: String?
        public var created_by: String?
        public var author: String?
        public var comment: String?
        public var empty_layer: Bool?
    }

    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var variant: String?
    public var config: Container?
    public var rootfs: RootFS
    public var history: [History]?

    public var platform: Platform {
        Platform(os: os, architecture: architecture, variant: variant)
    }
}

/// `{}` in JSON, as used for sets like ExposedPorts and Volumes.
public struct EmptyObject: Codable, Sendable, Equatable {
    public init() {}
}
