import OCI

/// What a pull is doing, reported as it happens; the API renders these as Docker's progress JSON.
public enum PullProgress: Sendable, Equatable {
    /// The registry has the image (the tag or digest asked for); downloads follow.
    case started(String)
    case layerQueued(Digest)
    case layerPresent(Digest)
    case downloading(Digest, current: Int64, total: Int64)
    case downloaded(Digest)
    case extracting(Digest)
    case layerDone(Digest)
    case finished(digest: Digest, reference: String, newImage: Bool)
}
