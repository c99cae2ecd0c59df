// Docker wire types for images; property names are the API's JSON keys.

/// One row of `GET /images/json`.
public struct ImageSummary: Codable, Sendable, Equatable {
    public var Id: String
    public var ParentId: String
    public var RepoTags: [String]
    public var RepoDigests: [String]
    /// Seconds since the epoch.
    public var Created: Int64
    public var Size: Int64
    public var SharedSize: Int64
    public var Labels: [String: String]?
    public var Containers: Int64
    /// Berth's addition, so listings can tell platforms of one tag apart.
    public var Platform: String?

    public init(Id: String, RepoTags: [String], RepoDigests: [String], Created: Int64, Size: Int64,
                Labels: [String: String]?, Platform: String) {
        self.Id = Id
        ParentId = ""
        self.RepoTags = RepoTags
        self.RepoDigests = RepoDigests
        self.Created = Created
        self.Size = Size
        SharedSize = -1
        self.Labels = Labels
        Containers = -1
        self.Platform = Platform
    }
}

/// The body of `GET /images/{name}/json`.
public struct ImageInspect: Codable, Sendable, Equatable {
    public struct RootFS: Codable, Sendable, Equatable {
        public var `Type`: String
        public var Layers: [String]
        public init(Layers: [String]) {
            self.Type = "layers"
            self.Layers = Layers
        }
    }

    public struct GraphDriver: Codable, Sendable, Equatable {
        public var Name: String
        public var Data: [String: String]
        public init(Name: String, Data: [String: String]) {
            self.Name = Name
            self.Data = Data
        }
    }

    public var Id: String
    public var RepoTags: [String]
    public var RepoDigests: [String]
    public var Parent: String
    public var Comment: String
    public var Created: String
    public var DockerVersion: String
    public var Author: String
    public var Config: JSONValue?
    public var Architecture: String
    public var Variant: String?
    public var Os: String
    public var Size: Int64
    public var GraphDriver: GraphDriver
    public var RootFS: RootFS
    public var Metadata: [String: String]

    public init(Id: String, RepoTags: [String], RepoDigests: [String], Created: String, Author: String,
                Config: JSONValue?, Architecture: String, Variant: String?, Os: String, Size: Int64,
                GraphDriver: GraphDriver, RootFS: RootFS) {
        self.Id = Id
        self.RepoTags = RepoTags
        self.RepoDigests = RepoDigests
        Parent = ""
        Comment = ""
        self.Created = Created
        DockerVersion = ""
        self.Author = Author
        self.Config = Config
        self.Architecture = Architecture
        self.Variant = Variant
        self.Os = Os
        self.Size = Size
        self.GraphDriver = GraphDriver
        self.RootFS = RootFS
        Metadata = ["LastTagTime": "0001-01-01T00:00:00Z"]
    }
}

/// One entry of `DELETE /images/{name}`'s answer.
public struct ImageDeleteItem: Codable, Sendable, Equatable {
    public var Untagged: String?
    public var Deleted: String?

    public init(Untagged: String? = nil, Deleted: String? = nil) {
        self.Untagged = Untagged
        self.Deleted = Deleted
    }
}

/// One line of Docker's JSON progress stream (pull, push, load).
public struct ProgressMessage: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var current: Int64?
        public var total: Int64?
        public init(current: Int64? = nil, total: Int64? = nil) {
            self.current = current
            self.total = total
        }
    }

    public struct ErrorDetail: Codable, Sendable, Equatable {
        /// A failed build step's exit code.
        public var code: Int?
        public var message: String
    }

    public var status: String?
    public var id: String?
    public var progressDetail: Detail?
    public var progress: String?
    public var error: String?
    public var errorDetail: ErrorDetail?
    /// A build's output text.
    public var stream: String?
    /// A build's result: `ID` of the image made.
    public var aux: [String: String]?

    public init(status: String, id: String? = nil, detail: Detail? = nil, progress: String? = nil) {
        self.status = status
        self.id = id
        self.progressDetail = detail
        self.progress = progress
    }

    public init(error: String, code: Int? = nil) {
        self.error = error
        self.errorDetail = ErrorDetail(code: code, message: error)
    }

    public init(stream: String) {
        self.stream = stream
    }

    public init(aux: [String: String]) {
        self.aux = aux
    }
}

/// One entry of `GET /images/search`, as clients read it (berthd writes the registry client's own).
public struct ImageSearchResult: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var star_count: Int
    public var is_official: Bool
    public var is_automated: Bool
}

/// One entry of `GET /images/{name}/history`, newest first.
public struct ImageHistoryItem: Codable, Sendable, Equatable {
    public var Id: String
    public var Created: Int64
    public var CreatedBy: String
    public var Tags: [String]?
    public var Size: Int64
    public var Comment: String

    public init(Id: String, Created: Int64, CreatedBy: String, Tags: [String]?, Size: Int64, Comment: String) {
        self.Id = Id
        self.Created = Created
        self.CreatedBy = CreatedBy
        self.Tags = Tags
        self.Size = Size
        self.Comment = Comment
    }
}
