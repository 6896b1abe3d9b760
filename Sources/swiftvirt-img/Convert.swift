import ArgumentParser
import DiskImage

/// `convert [-c] [-p] [-q] [-n] [-f fmt] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options]
/// [-S sparse_size] filename [filename2 [...]] output_filename` (QEMU's img_convert).
struct Convert: ImageCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy one or more images (concatenated) into a new or existing image.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Source format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(
        name: .customShort("O", allowingJoined: true), help: ArgumentHelp("Target format.", valueName: "output_fmt"))
    var outputFormat = "raw"

    @Flag(name: .customShort("c"), help: "Compress the target's clusters (qcow2).")
    var compress = false

    @Option(
        name: .customShort("o", allowingJoined: true),
        help: ArgumentHelp("Target format options.", valueName: "options"))
    var options: [String] = []

    @Option(
        name: .customShort("B", allowingJoined: true),
        help: ArgumentHelp("Backing file of the target.", valueName: "backing_file"))
    var backingFile: String?

    @Option(
        name: .customShort("F", allowingJoined: true),
        help: ArgumentHelp("Format of the target's backing file.", valueName: "backing_fmt"))
    var backingFormat: String?

    @Flag(name: .customShort("n"), help: "Write into an existing target instead of creating it.")
    var skipCreate = false

    @Flag(name: .customShort("p"), help: "Show progress.")
    var progress = false

    @Flag(name: .customShort("q"), help: "Quiet.")
    var quiet = false

    @Option(
        name: .customShort("S", allowingJoined: true),
        help: ArgumentHelp("Zero bytes in a row that make a hole (default 4k).", valueName: "sparse_size"))
    var sparseSize: String?

    @Flag(name: .customLong("target-is-zero"), help: "With -n: the target already reads as zeroes.")
    var targetIsZero = false

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp("Target cache mode; unsafe (the default) skips fdatasync.", valueName: "cache"))
    var cache: String?

    @Option(
        name: .customShort("T", allowingJoined: true),
        help: ArgumentHelp("Source cache mode (accepted, ignored).", valueName: "src_cache"))
    var sourceCache: String?

    @Option(
        name: .customShort("m", allowingJoined: true),
        help: ArgumentHelp("Parallel requests (accepted, ignored).", valueName: "num_coroutines"))
    var coroutines: String?

    @Flag(name: .customShort("W"), help: "Out-of-order writes (accepted; writes are in order).")
    var outOfOrder = false

    @OptionGroup var forceShare: ForceShareOption

    @Option(
        name: .customShort("l", allowingJoined: true),
        help: ArgumentHelp("Source snapshot (not supported).", valueName: "snapshot_param"))
    var snapshot: String?

    @Argument(help: "filename [filename2 [...]] output_filename")
    var files: [String] = []

    mutating func execute() throws(ToolError) -> Int32 {
        var optionList = try OptionList(options)
        var sparseSectors = 8
        if let sparseSize {
            let bytes = try? SizeParser.parse(sparseSize).get()
            guard let bytes, bytes % 512 == 0, bytes / 512 <= 32768 else {
                throw ToolError(
                    "Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to 16777216."
                        + " Select 0 to disable sparse detection (fully allocates output).")
            }
            sparseSectors = Int(bytes / 512)
        }
        if targetIsZero && !skipCreate { throw ToolError("--target-is-zero requires use of -n flag") }
        if optionList.wantsHelp {
            ToolOutput.out(ImageOptionDescriptor.helpText(for: try ImageFormatName.forCreating(outputFormat)))
            return 0
        }
        guard files.count >= 2, let targetPath = files.last else { throw ToolError("Must specify image file name") }
        if skipCreate && !optionList.isEmpty { throw ToolError("-o has no effect when skipping image creation") }
        if snapshot != nil { throw ToolError("Converting from an internal snapshot (-l) is not supported") }
        // convert's default cache mode is unsafe: nothing is forced to disk (QEMU's documented default).
        let cacheMode = cache ?? "unsafe"
        guard CacheMode.valid.contains(cacheMode) else { throw ToolError("Invalid cache option: \(cacheMode)") }
        if let sourceCache, !CacheMode.valid.contains(sourceCache) {
            throw ToolError("Invalid source cache option: \(sourceCache)")
        }

        let bar = ProgressBar(enabled: progress && !quiet)
        bar.set(0)
        defer { bar.end() }
        var images: [any DiskImage] = []
        for path in files.dropLast() {
            images.append(
                try ImageOpener.open(path, formatName: format, readOnly: true, forceShare: forceShare.enabled))
        }
        let sources = try ConvertSources(images)
        let targetFormat = try ImageFormatName.forCreating(outputFormat)

        if !skipCreate {
            let descriptors = ImageOptionDescriptor.descriptors(for: targetFormat)
            for entry in optionList.entries {
                guard let descriptor = descriptors.first(where: { $0.name == entry.name }) else {
                    throw ToolError("Invalid parameter '\(entry.name)'")
                }
                try descriptor.check(entry.value)
            }
            if backingFile != nil && targetFormat != .qcow2 {
                throw ToolError("Backing file not supported for file format '\(targetFormat.rawValue)'")
            }
            if backingFormat != nil && targetFormat != .qcow2 {
                throw ToolError("Backing file format not supported for file format '\(targetFormat.rawValue)'")
            }
            if let backingFile { optionList.set("backing_file", backingFile) }
            if let backingFormat { optionList.set("backing_fmt", backingFormat) }
        }
        let targetBacking = optionList.value("backing_file") ?? backingFile
        if images.count > 1 && targetBacking != nil {
            throw ToolError(
                "Having a backing file for the target makes no sense when concatenating multiple input images")
        }
        if optionList.value("backing_file") != nil && optionList.value("backing_fmt") == nil {
            throw ToolError("Use of backing file requires explicit backing format")
        }
        if compress {
            guard targetFormat == .qcow2 else { throw ToolError("Compression not supported for this file format") }
            if let mode = optionList.value("preallocation"), mode != "off" {
                throw ToolError("Compression and preallocation not supported at the same time")
            }
        }

        if !skipCreate {
            // The sources decide the size; qemu-img overrides a size given with -o the same way.
            optionList.remove("size")
            var creation = ImageCreation(
                path: targetPath, format: targetFormat, options: optionList, size: sources.totalSize)
            creation.opensBacking = false
            creation.printsFormatting = false
            do {
                try creation.run()
            } catch {
                throw error.prefixed("\(targetPath): error while converting \(targetFormat.rawValue)")
            }
        }
        let target = try ImageOpener.open(targetPath, formatName: outputFormat, readOnly: false)
        if skipCreate && target.virtualSize < sources.totalSize {
            throw ToolError("output file is smaller than input file")
        }
        (target as? Qcow2Image)?.synchronizesWrites = cacheMode != "unsafe"
        var clusterSize: Int?
        if compress {
            guard let qcow2 = target as? Qcow2Image else {
                throw ToolError("Compression not supported for this file format")
            }
            clusterSize = qcow2.headerInfo.clusterSize
        }
        let copier = ImageCopier(
            sources: sources, target: target,
            targetIsZero: skipCreate ? targetIsZero : targetBacking == nil,
            copiesAboveBacking: targetBacking != nil, sparseSectors: sparseSectors,
            compressedClusterSize: clusterSize, progress: bar)
        try copier.run()
        do {
            if let qcow2 = target as? Qcow2Image {
                try qcow2.close()
            } else if cacheMode != "unsafe" {
                try target.flush()
            }
        } catch {
            throw ToolError("error while closing \(targetPath): \(ImageOpener.describe(error))")
        }
        bar.set(100)
        return 0
    }
}
