/// The body of `GET /system/df`.
public struct DiskUsageReport: Codable, Sendable, Equatable {
    public var LayersSize: Int64
    public var Images: [ImageSummary]
    public var Containers: [ContainerSummary]
    public var Volumes: [Volume]
    /// Berth's classic builder keeps its cache as ordinary images, which `Images` lists: always empty.
    public var BuildCache: [JSONValue]

    public init(LayersSize: Int64, Images: [ImageSummary], Containers: [ContainerSummary], Volumes: [Volume]) {
        self.LayersSize = LayersSize
        self.Images = Images
        self.Containers = Containers
        self.Volumes = Volumes
        BuildCache = []
    }
}
