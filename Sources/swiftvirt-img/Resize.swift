import ArgumentParser
import DiskImage

/// `resize [-f fmt] [--preallocation=off] [-q] [--shrink] filename [+ | -]size` (QEMU's img_resize).
/// Shrinking a qcow2 image first discards the clusters beyond the new end, as QEMU does.
struct Resize: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Grow or shrink an image's virtual size.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Image format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(name: .customLong("preallocation"), help: "Only 'off' is supported.")
    var preallocation: String?

    @Flag(name: .customLong("shrink"), help: "Allow shrinking (data beyond the new end is lost).")
    var shrink = false

    @Flag(name: .customShort("q"), help: "Quiet.")
    var quiet = false

    @Argument(help: "filename [+ | -]size")
    var arguments: [String] = []

    mutating func execute() throws(ToolError) -> Int32 {
        guard arguments.count >= 2 else { throw ToolError.usage("Not enough arguments") }
        guard arguments.count == 2 else { throw ToolError.usage("Expecting image file name and size") }
        let path = arguments[0]
        var text = Substring(arguments[1])
        var sign = 0
        if text.first == "+" {
            sign = 1
            text = text.dropFirst()
        } else if text.first == "-" {
            sign = -1
            text = text.dropFirst()
        }
        let sizeOption = ImageOptionDescriptor(name: "size", kind: .size, defaultValue: nil, help: "")
        try sizeOption.check(String(text))
        guard case .success(let amount) = SizeParser.parse(String(text)) else { return 1 }
        if let preallocation, preallocation != "off" {
            guard ImagePreallocation(rawValue: preallocation) != nil else {
                throw ToolError("Parameter 'preallocation' does not accept value '\(preallocation)'")
            }
            throw ToolError("Preallocation is not supported when resizing with \(ToolOutput.toolName)")
        }

        let image = try ImageOpener.open(path, formatName: format, readOnly: false)
        defer { try? (image as? Qcow2Image)?.close() }
        let current = image.virtualSize
        let newSize: UInt64
        switch sign {
        case 1:
            let (sum, overflow) = current.addingReportingOverflow(amount)
            guard !overflow, sum <= UInt64(Int64.max) else { throw ToolError("New image size must be positive") }
            newSize = sum
        case -1:
            guard amount < current else { throw ToolError("New image size must be positive") }
            newSize = current - amount
        default:
            guard amount > 0, amount <= UInt64(Int64.max) else { throw ToolError("New image size must be positive") }
            newSize = amount
        }
        if newSize < current && !shrink {
            ToolOutput.error("Use the --shrink option to perform a shrink operation.")
            ToolOutput.warning(
                "Shrinking an image will delete all data beyond the shrunken image's end. Before performing such an "
                    + "operation, make sure there is no important data there.")
            return 1
        }
        do {
            switch image {
            case let qcow2 as Qcow2Image:
                guard newSize % 512 == 0 else {
                    throw DiskImageError.invalidArgument("The new size must be a multiple of 512")
                }
                if newSize < current { try qcow2.discard(at: newSize, length: current - newSize) }
                try qcow2.resize(to: newSize)
                try qcow2.close()
            case let raw as RawImage:
                try raw.resize(to: newSize)
                try raw.flush()
            default:
                throw DiskImageError.notSupported("resizing this image")
            }
        } catch let error as DiskImageError {
            throw ToolError(ImageOpener.describe(error))
        } catch {
            throw ToolError("\(error)")
        }
        if !quiet { ToolOutput.out("Image resized.\n") }
        return 0
    }
}
