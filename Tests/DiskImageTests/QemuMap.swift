import DiskImage
import Foundation

/// One extent of `qemu-img map --output=json`.
struct QemuMapExtent: Decodable {
    var start: UInt64
    var length: UInt64
    var depth: Int
    var present: Bool
    var zero: Bool
    var data: Bool

    static func run(_ path: String) throws -> [QemuMapExtent] {
        try JSONDecoder().decode([QemuMapExtent].self, from: Data(QemuTool.image("map", "--output=json", path).utf8))
    }

    /// The status kind QEMU's flags correspond to.
    var kind: BlockStatus.Kind {
        if !present { return .unallocated }
        return data ? .data : .zero
    }

    /// Walks our block status over QEMU's extents and returns a description of the first disagreement.
    static func firstDisagreement(_ image: any DiskImage, _ extents: [QemuMapExtent]) throws -> String? {
        for extent in extents {
            var position = extent.start
            while position < extent.start + extent.length {
                let status = try image.blockStatus(at: position, length: extent.start + extent.length - position)
                if status.kind != extent.kind || status.depth != extent.depth {
                    return "at \(position): ours \(status), QEMU \(extent.kind) depth \(extent.depth)"
                }
                position += status.length
            }
        }
        return nil
    }
}
