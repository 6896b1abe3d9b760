import ArgumentParser
import DiskImage

/// `measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | [-f fmt] filename]`: the file size a
/// conversion would need (QEMU's img_measure with qcow2_measure and raw_measure).
struct Measure: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Compute the size a new or converted image needs.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Source format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(
        name: .customShort("O", allowingJoined: true), help: ArgumentHelp("Target format.", valueName: "output_fmt"))
    var outputFormat = "raw"

    @Option(
        name: .customShort("o", allowingJoined: true),
        help: ArgumentHelp("Target format options.", valueName: "options"))
    var options: [String] = []

    @Option(name: .customLong("size"), help: "Virtual size of a new image instead of a source file.")
    var size: String?

    @Option(name: .customLong("output"), help: ArgumentHelp("human or json.", valueName: "ofmt"))
    var output: String?

    @OptionGroup var forceShare: ForceShareOption

    @Argument(help: "filename")
    var files: [String] = []

    mutating func execute() throws(ToolError) -> Int32 {
        let outputKind = try OutputFormat.parse(output)
        let optionList = try OptionList(options)
        let requestedSize = try size.map { (text) throws(ToolError) in try SizeParser.argument("image size", text) }
        if files.count > 1 { throw ToolError("At most one filename argument is allowed.") }
        let path = files.first
        if path != nil && requestedSize != nil {
            throw ToolError("--size N cannot be used together with a filename.")
        }
        if path == nil && requestedSize == nil {
            throw ToolError("Either --size N or one filename must be specified.")
        }
        let source = try path.map { (path) throws(ToolError) in
            try ImageOpener.open(path, formatName: format, readOnly: true, forceShare: forceShare.enabled)
        }
        let targetFormat = try ImageFormatName.forCreating(outputFormat)
        if optionList.wantsHelp {
            ToolOutput.out(ImageOptionDescriptor.helpText(for: targetFormat))
            return 0
        }
        let descriptors = ImageOptionDescriptor.descriptors(for: targetFormat)
        for entry in optionList.entries {
            do throws(ToolError) {
                guard let descriptor = descriptors.first(where: { $0.name == entry.name }) else {
                    throw ToolError("Invalid parameter '\(entry.name)'")
                }
                try descriptor.check(entry.value)
            } catch {
                ToolOutput.report(error)
                throw ToolError("Invalid options for file format '\(targetFormat.rawValue)'")
            }
        }
        let virtualSize =
            requestedSize ?? optionList.value("size").flatMap { try? SizeParser.parse($0).get() } ?? 0
        let result: (required: UInt64, fullyAllocated: UInt64, bitmaps: UInt64?)
        switch targetFormat {
        case .raw:
            let bytes = source?.virtualSize ?? Qcow2Measure.roundUp(virtualSize, 512)
            result = (bytes, bytes, nil)
        case .qcow2:
            result = try measureQcow2(optionList, virtualSize: virtualSize, source: source)
        }
        switch outputKind {
        case .human:
            var text = "required size: \(result.required)\nfully allocated size: \(result.fullyAllocated)\n"
            if let bitmaps = result.bitmaps { text += "bitmaps size: \(bitmaps)\n" }
            ToolOutput.out(text)
        case .json:
            var object = QemuJSONObject()
            object.set("required", .unsigned(result.required))
            object.set("fully-allocated", .unsigned(result.fullyAllocated))
            if let bitmaps = result.bitmaps { object.set("bitmaps", .unsigned(bitmaps)) }
            ToolOutput.out(QemuJSON.object(object).pretty + "\n")
        }
        return 0
    }

    /// qcow2_measure: metadata for the full size, plus the clusters the source stores data in.
    private func measureQcow2(
        _ options: OptionList, virtualSize requested: UInt64, source: (any DiskImage)?
    ) throws(ToolError) -> (UInt64, UInt64, UInt64?) {
        let extendedL2 = options.value("extended_l2").flatMap(BoolValue.parse) ?? false
        var clusterSize: UInt64 = 65536
        if let value = options.value("cluster_size") { clusterSize = (try? SizeParser.parse(value).get()) ?? 0 }
        guard clusterSize >= 512, clusterSize <= 2 << 20, clusterSize & (clusterSize - 1) == 0 else {
            throw ToolError("Cluster size must be a power of two between 512 and 2048k")
        }
        if extendedL2 && clusterSize < 16384 {
            throw ToolError("Extended L2 entries are only supported with cluster sizes of at least 16384 bytes")
        }
        var version = 3
        if let compat = options.value("compat") {
            switch compat {
            case "0.10": version = 2
            case "1.1": version = 3
            default: throw ToolError("Invalid compatibility level: '\(compat)'")
            }
        }
        let refcountBits = options.value("refcount_bits").flatMap { UInt64($0) } ?? 16
        guard refcountBits > 0, refcountBits <= 64, refcountBits & (refcountBits - 1) == 0 else {
            throw ToolError("Refcount width must be a power of two and may not exceed 64 bits")
        }
        if version < 3 && refcountBits != 16 {
            throw ToolError(
                "Different refcount widths than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)"
            )
        }
        var preallocation = ImagePreallocation.off
        if let value = options.value("preallocation") {
            guard let mode = ImagePreallocation(rawValue: value) else {
                throw ToolError("invalid parameter value: \(value)")
            }
            preallocation = mode
        }
        var virtualSize = Qcow2Measure.roundUp(requested, clusterSize)
        if Qcow2Measure.l1Bytes(virtualSize: virtualSize, clusterSize: clusterSize, extendedL2: extendedL2) > 32 << 20 {
            throw ToolError("The image size is too large (try using a larger cluster size)")
        }
        var required: UInt64 = 0
        if let source {
            virtualSize = Qcow2Measure.roundUp(source.virtualSize, clusterSize)
            if options.contains("backing_file") {
                required = virtualSize
            } else {
                required = try allocatedClusterBytes(source, clusterSize: clusterSize)
            }
        }
        if preallocation == .full || preallocation == .falloc { required = virtualSize }
        let fullyAllocated = Qcow2Measure.fullyAllocatedSize(
            virtualSize: virtualSize, clusterSize: clusterSize, refcountBits: refcountBits, extendedL2: extendedL2)
        let bitmaps: UInt64? = version >= 3 && source?.format == .qcow2 ? 0 : nil
        return (fullyAllocated - virtualSize + required, fullyAllocated, bitmaps)
    }

    /// Bytes of whole clusters holding data in the source (zero ranges are skipped).
    private func allocatedClusterBytes(_ source: any DiskImage, clusterSize: UInt64) throws(ToolError) -> UInt64 {
        let size = source.virtualSize
        var required: UInt64 = 0
        var offset: UInt64 = 0
        // Every step covers at least one byte, so the loop ends within `size` rounds.
        while offset < size {
            let status: ChainStatus
            do {
                status = try ChainStatus.query(source, at: offset, length: size - offset)
            } catch {
                throw ToolError("Unable to get block status: \(ImageOpener.describe(error))")
            }
            var length = status.length
            if !status.zero && status.data && status.present {
                length = Qcow2Measure.roundUp(offset + length, clusterSize) - offset
                required += offset % clusterSize + length
            }
            offset += length
        }
        return required
    }
}
