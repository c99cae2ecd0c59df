/// One entry of a container's writable layer (overlayfs' upper directory), for `diff`.
public struct WritableLayerEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A deletion: overlayfs' 0/0 character device.
        case whiteout
        case emptyFile, file, directory, other
    }

    /// From the container's root, with a leading "/".
    public var path: String
    public var kind: Kind
    /// Whether an image layer has the path too: the container changed it rather than added it.
    public var inImage: Bool

    public init(path: String, kind: Kind, inImage: Bool) {
        self.path = path
        self.kind = kind
        self.inImage = inImage
    }

    /// The guest agent's `changes` records: "KIND IN_LAYERS PATH", each ended by a NUL.
    public static func parseGuestList(_ bytes: [UInt8]) -> [WritableLayerEntry] {
        bytes.split(separator: 0).compactMap { record in
            let fields = String(decoding: record, as: UTF8.self).split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[2].isEmpty else { return nil }
            let kinds: [Substring: Kind] = ["w": .whiteout, "e": .emptyFile, "f": .file, "d": .directory, "o": .other]
            guard let kind = kinds[fields[0]] else { return nil }
            return WritableLayerEntry(path: "/" + fields[2], kind: kind, inImage: fields[1] == "1")
        }
    }
}
