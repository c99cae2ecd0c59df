import Foundation
import FuzzDriver
import Glibc
import ImageStore
import OCI

/// Any bytes as a layer blob (gzip, zstd or plain tar) unpacked as a pull unpacks one, confined
/// (see `Confinement`): errors are thrown, never crashes, and nothing is written beside the
/// layer's directory, whatever links, paths and whiteouts the layer holds.
@main
enum LayerUnpackerFuzzer {
    static let blob = Confinement.scratch + "/blob"
    static let layerParent = Confinement.scratch + "/layer"
    static let layerRoot = layerParent + "/root"

    static func main() {
        Confinement.enter()
        // Small enough that a decompression bomb stops long before the scratch tmpfs fills.
        let unpacker = LayerUnpacker(maximumUncompressedSize: 64 << 20)
        let layer = try! Digest(sha256: String(repeating: "0", count: 64))
        FuzzDriver.run { input in
            guard FileManager.default.createFile(atPath: blob, contents: Data(input)),
                  mkdir(layerParent, 0o700) == 0, mkdir(layerRoot, 0o755) == 0
            else { fatalError("preparing \(layerRoot): \(String(cString: strerror(errno)))") }
            _ = try? unpacker.unpack(blob: blob, layer: layer, into: layerRoot)
            expectOnly(["blob", "layer"], in: Confinement.scratch)
            expectOnly(["root"], in: layerParent)
            do { try FileManager.default.removeItem(atPath: layerParent) } catch { fatalError("removing the layer: \(error)") }
        }
    }

    /// A layer that reached past its root shows up beside it (libFuzzer's own temporary files aside).
    static func expectOnly(_ names: Set<String>, in directory: String) {
        let found = Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { !$0.hasPrefix("libFuzzerTemp.") }
        guard found == names else { fatalError("the layer wrote outside its root: \(directory) holds \(found.sorted())") }
    }
}
