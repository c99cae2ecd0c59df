import OCI

/// What a push is doing; the API renders these as Docker's progress JSON.
public enum PushProgress: Sendable, Equatable {
    case preparing(Digest)
    case pushing(Digest, current: Int64, total: Int64)
    case pushed(Digest)
    case alreadyExists(Digest)
    case mounted(Digest, from: String)
    case finished(tag: String, digest: Digest, size: Int)
}
