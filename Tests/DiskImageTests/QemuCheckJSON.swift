import Foundation

/// The fields of `qemu-img check --output=json` the tests compare.
struct QemuCheckJSON: Decodable {
    var imageEndOffset: UInt64?
    var totalClusters: UInt64?
    var allocatedClusters: UInt64?
    var fragmentedClusters: UInt64?
    var compressedClusters: UInt64?
    var checkErrors: Int?
    var corruptions: Int?
    var leaks: Int?

    enum CodingKeys: String, CodingKey {
        case imageEndOffset = "image-end-offset"
        case totalClusters = "total-clusters"
        case allocatedClusters = "allocated-clusters"
        case fragmentedClusters = "fragmented-clusters"
        case compressedClusters = "compressed-clusters"
        case checkErrors = "check-errors"
        case corruptions
        case leaks
    }

    /// qemu-img check -U: the test may still hold the image open (and locked).
    static func run(_ path: String) throws -> QemuCheckJSON {
        let result = try QemuTool.imageStatus("check", "-U", "--output=json", path)
        return try JSONDecoder().decode(QemuCheckJSON.self, from: Data(result.output.utf8))
    }
}
