import ArgumentParser
import DiskImage

/// `dd [-U] [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks] if=input of=output`
/// (QEMU's img_dd): a new image holding the input from block `skip` up to block `count` (counted from
/// the start of the input), every byte written.
struct DD: ImageCommand {
    static let configuration = CommandConfiguration(
        commandName: "dd", abstract: "Copy part of an image into a new image, dd(1) style.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Input format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(
        name: .customShort("O", allowingJoined: true), help: ArgumentHelp("Output format.", valueName: "output_fmt"))
    var outputFormat = "raw"

    @OptionGroup var forceShare: ForceShareOption

    @Argument(help: "bs=BYTES count=N skip=N if=FILE of=FILE")
    var operands: [String] = []

    /// Bytes moved per request, whatever bs is (the result is the same).
    static let chunkSize: UInt64 = 2 << 20

    mutating func execute() throws(ToolError) -> Int32 {
        var blockSize: UInt64 = 512
        var count: UInt64?
        var skip: UInt64?
        var input: String?
        var output: String?
        for operand in operands {
            guard let equals = operand.firstIndex(of: "=") else { throw ToolError("unrecognized operand \(operand)") }
            let name = String(operand[..<equals])
            let value = String(operand[operand.index(after: equals)...])
            switch name {
            case "bs": blockSize = try SizeParser.argument("bs", value, minimum: 1, maximum: UInt64(Int32.max))
            case "count": count = try SizeParser.argument("count", value)
            case "skip": skip = try SizeParser.argument("skip", value)
            case "if": input = value
            case "of": output = value
            default: throw ToolError("unrecognized operand \(name)")
            }
        }
        guard let input, let output else { throw ToolError("Must specify both input and output files") }
        let source = try ImageOpener.open(input, formatName: format, readOnly: true, forceShare: forceShare.enabled)
        guard let targetFormat = DiskImageFormat(rawValue: outputFormat) else {
            throw ToolError("Unknown file format")
        }
        var size = source.virtualSize
        if let count, count <= UInt64(Int64.max) / blockSize, count * blockSize < size { size = count * blockSize }
        var start: UInt64 = 0
        var skipsPastEnd = false
        if let skip {
            if skip > UInt64(Int64.max) / blockSize || size < skip * blockSize {
                skipsPastEnd = true
            } else {
                start = skip * blockSize
            }
        }
        let creation = ImageCreation(
            path: output, format: targetFormat, options: OptionList(), size: skipsPastEnd ? 0 : size - start,
            opensBacking: false, printsFormatting: false)
        do {
            try creation.run()
        } catch {
            throw error.prefixed("\(output): error while creating output image")
        }
        let target = try ImageOpener.open(output, formatName: outputFormat, readOnly: false)
        if skipsPastEnd {
            ToolOutput.error("\(input): cannot skip to specified offset")
            start = size
        }
        var buffer = [UInt8](repeating: 0, count: Int(min(Self.chunkSize, max(size - start, 1))))
        var position = start
        while position < size {
            let length = Int(min(UInt64(buffer.count), size - position))
            do {
                try buffer.withUnsafeMutableBytes { bytes in
                    try source.read(at: position, into: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<length]))
                }
            } catch {
                let reason = (error as? DiskImageError).map(ImageOpener.describe) ?? "\(error)"
                throw ToolError("error while reading from input image file: \(reason)")
            }
            do {
                try buffer.withUnsafeBytes { bytes in
                    try target.write(at: position - start, from: UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
                }
            } catch {
                let reason = (error as? DiskImageError).map(ImageOpener.describe) ?? "\(error)"
                throw ToolError("error while writing to output image file: \(reason)")
            }
            position += UInt64(length)
        }
        do {
            if let qcow2 = target as? Qcow2Image { try qcow2.close() } else { try target.flush() }
        } catch {
            throw ToolError("error while writing to output image file: \(ImageOpener.describe(error))")
        }
        return 0
    }
}
