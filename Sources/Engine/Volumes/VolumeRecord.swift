import Foundation

/// A volume of the `local` driver: a directory under berthd's root, kept across containers.
public struct VolumeRecord: Sendable, Equatable {
    public var name: String
    public var created: Date
    public var labels: [String: String]
    /// Made for one container (`-v /path` or an image's VOLUME): `rm -v` and `--rm` remove it with the container.
    public var anonymous: Bool

    /// Docker's label on anonymous volumes, which `volume prune` removes by default.
    public static let anonymousLabel = "com.docker.volume.anonymous"

    /// Docker's rule for local volume names.
    public static func isValidName(_ name: String) -> Bool {
        guard name.count >= 2, let first = name.unicodeScalars.first, isAlphanumeric(first) else { return false }
        return name.unicodeScalars.allSatisfy { isAlphanumeric($0) || "_.-".unicodeScalars.contains($0) }
    }

    /// `name`, or Docker's error for a name its rule refuses.
    static func checkedName(_ name: String) throws -> String {
        guard isValidName(name) else {
            throw ContainerError.invalid("\"\(name)\" includes invalid characters for a local volume name, only "
                + "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")
        }
        return name
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar))
    }
}
