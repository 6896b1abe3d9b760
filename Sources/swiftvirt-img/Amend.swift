import ArgumentParser
import DiskImage

/// `amend [-p] [-q] [-f fmt] [--force] -o options filename` (QEMU's img_amend and qcow2_amend_options):
/// compat, lazy_refcounts, refcount_bits and size can change; the backing file cannot (use rebase).
struct Amend: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Change format options of an existing qcow2 image.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Image format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(
        name: .customShort("o", allowingJoined: true),
        help: ArgumentHelp("Options to change (-o help lists them).", valueName: "options"))
    var options: [String] = []

    @Flag(name: .customShort("p"), help: "Show progress.")
    var progress = false

    @Flag(name: .customShort("q"), help: "Quiet.")
    var quiet = false

    @Flag(name: .customLong("force"), help: "Accepted for compatibility.")
    var force = false

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp("Cache mode (accepted, ignored).", valueName: "cache"))
    var cache: String?

    @Argument(help: "filename")
    var files: [String] = []

    mutating func execute() throws(ToolError) -> Int32 {
        guard !options.isEmpty else { throw ToolError.usage("Must specify options (-o)") }
        let optionList = try OptionList(options)
        let bar = ProgressBar(enabled: progress && !quiet)
        defer { bar.end() }
        if let format, optionList.wantsHelp {
            return try printHelp(try ImageFormatName.forCreating(format))
        }
        guard files.count == 1, let path = files.first else { throw ToolError("Expecting one image file name") }
        var image = try ImageOpener.open(path, formatName: format, readOnly: false)
        if optionList.wantsHelp { return try printHelp(image.format) }
        guard var qcow2 = image as? Qcow2Image else {
            throw ToolError("Format driver '\(image.format.rawValue)' does not support option amendment")
        }
        defer { try? qcow2.close() }
        let amendable = ImageOptionDescriptor.qcow2.filter {
            ImageOptionDescriptor.qcow2Amendable.contains($0.name) || $0.name.hasPrefix("data_file")
        }
        for entry in optionList.entries {
            guard let descriptor = amendable.first(where: { $0.name == entry.name }) else {
                let createOnly = ImageOptionDescriptor.qcow2.contains { $0.name == entry.name }
                throw ToolError(
                    "Invalid parameter '\(entry.name)'",
                    hints: createOnly ? ["This option is only supported for image creation"] : [])
            }
            try descriptor.check(entry.value)
        }
        bar.set(0)

        let header = qcow2.headerInfo
        var targetVersion = header.version
        if let compat = optionList.value("compat") {
            switch compat {
            case "0.10", "v2": targetVersion = 2
            case "1.1", "v3": targetVersion = 3
            default: throw ToolError("Unknown compatibility level \(compat)")
            }
        }
        var refcountBits = header.refcountBits
        if let value = optionList.value("refcount_bits") {
            let bits = Int(UInt64(value).map { min($0, 128) } ?? 0)
            guard bits > 0, bits <= 64, bits & (bits - 1) == 0 else {
                throw ToolError("Refcount width must be a power of two and may not exceed 64 bits")
            }
            refcountBits = bits
        }
        if optionList.contains("data_file") || optionList.contains("data_file_raw") {
            throw ToolError("External data files are not supported by \(ToolOutput.toolName)")
        }
        do {
            if targetVersion > header.version { try qcow2.setCompatibility(.v3) }
            if refcountBits != header.refcountBits {
                if targetVersion < 3 && refcountBits != 16 {
                    throw ToolError(
                        "Refcount widths other than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)"
                    )
                }
                try qcow2.close()
                try Qcow2Image.changeRefcountWidth(path: path, bits: refcountBits)
                image = try ImageOpener.open(path, formatName: format, readOnly: false)
                guard let reopened = image as? Qcow2Image else { return 1 }
                qcow2 = reopened
            }
            let backingFile = optionList.value("backing_file")
            let backingFormat = optionList.value("backing_fmt")
            if (backingFile != nil || backingFormat != nil)
                && (backingFile != header.backingFile || backingFormat != header.backingFormat)
            {
                throw ToolError(
                    "Cannot amend the backing file", hints: ["You can use '\(ToolOutput.toolName) rebase' instead."])
            }
            if let value = optionList.value("lazy_refcounts"), let enabled = BoolValue.parse(value),
                enabled != header.lazyRefcounts
            {
                if enabled && targetVersion < 3 {
                    throw ToolError(
                        "Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)"
                    )
                }
                try qcow2.setLazyRefcounts(enabled)
            }
            if let value = optionList.value("size"), let size = try? SizeParser.parse(value).get(), size > 0 {
                guard size % 512 == 0 else { throw ToolError("The new size must be a multiple of 512") }
                let current = qcow2.virtualSize
                if size < current { try qcow2.discard(at: size, length: current - size) }
                try qcow2.resize(to: size)
            }
            if targetVersion < header.version { try qcow2.setCompatibility(.v2) }
            try qcow2.close()
        } catch let error as ToolError {
            throw error
        } catch let error as DiskImageError {
            throw ToolError(ImageOpener.describe(error))
        } catch {
            throw ToolError("\(error)")
        }
        bar.set(100)
        return 0
    }

    private func printHelp(_ format: DiskImageFormat) throws(ToolError) -> Int32 {
        guard format == .qcow2 else {
            throw ToolError("Format driver '\(format.rawValue)' does not support option amendment")
        }
        ToolOutput.out(
            ImageOptionDescriptor.helpText(
                for: .qcow2, title: "Amend options for 'qcow2':", only: ImageOptionDescriptor.qcow2Amendable))
        return 0
    }
}
