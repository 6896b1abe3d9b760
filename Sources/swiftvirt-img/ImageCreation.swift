import DiskImage

/// Creating an image as qemu-img does (QEMU's bdrv_img_create, then the qcow2 or raw driver): -o
/// options are checked for syntax, the backing file is opened for its size and format, the
/// "Formatting ..." line is printed, then the driver's checks run in QEMU's order before the library
/// writes the file. Errors are unprefixed; `create` puts the file name in front.
struct ImageCreation {
    var path: String
    var format: DiskImageFormat
    var options: OptionList
    /// The size from the command line, if any.
    var size: UInt64?
    /// -b and -F.
    var backingFile: String?
    var backingFormat: String?
    /// False with -u: the backing file is neither opened nor required to exist.
    var opensBacking = true
    var printsFormatting = true

    func run() throws(ToolError) {
        let descriptors = ImageOptionDescriptor.descriptors(for: format)
        var options = self.options
        for entry in options.entries {
            guard let descriptor = descriptors.first(where: { $0.name == entry.name }) else {
                throw ToolError("Invalid parameter '\(entry.name)'")
            }
            try descriptor.check(entry.value)
        }
        if let size {
            guard !options.contains("size") else { throw ToolError("The image size must be specified only once") }
            options.set("size", String(size))
        }
        if let backingFile {
            guard format == .qcow2 else {
                throw ToolError("Backing file not supported for file format '\(format.rawValue)'")
            }
            options.set("backing_file", backingFile)
        }
        if let backingFormat {
            guard format == .qcow2 else {
                throw ToolError("Backing file format not supported for file format '\(format.rawValue)'")
            }
            options.set("backing_fmt", backingFormat)
        }

        let backing = options.value("backing_file")
        let backingFormatName = options.value("backing_fmt")
        if let backing {
            if backing == path {
                throw ToolError("Error: Trying to create an image with the same filename as the backing file")
            }
            if backing.isEmpty { throw ToolError("Expected backing file name, got empty string") }
        }
        var virtualSize = options.value("size").flatMap { try? SizeParser.parse($0).get() }
        if let backing, opensBacking {
            let resolved = DiskImages.resolve(backingFile: backing, relativeTo: path)
            let backingImage: any DiskImage
            do {
                let knownFormat = try backingFormatName.flatMap { (name) throws(ToolError) in
                    try ImageFormatName.forOpening(name)
                }
                // Only the size is read; qemu-img opens the backing file sharing everything here.
                backingImage = try DiskImages.open(
                    path: resolved, format: knownFormat, readOnly: true, sharing: .forceShare)
            } catch let error as ToolError {
                throw ToolError(error.message, hints: ["Could not open backing image."])
            } catch let error as DiskImageError {
                throw ToolError(ImageOpener.describe(error), hints: ["Could not open backing image."])
            } catch {
                throw ToolError("\(error)")
            }
            guard backingFormatName != nil else {
                throw ToolError(
                    "Backing file specified without backing format",
                    hints: ["Detected format of \(backingImage.format.rawValue)."])
            }
            if virtualSize == nil {
                virtualSize = backingImage.virtualSize
                options.set("size", String(backingImage.virtualSize))
            }
        } else if backing != nil && backingFormatName == nil {
            throw ToolError("Backing file specified without backing format")
        }
        guard let virtualSize else { throw ToolError("Image creation needs a size parameter") }

        if printsFormatting {
            ToolOutput.out("Formatting '\(path)', fmt=\(format.rawValue) \(formattingOptions(options, descriptors))\n")
        }
        switch format {
        case .raw:
            try createRaw(options, size: virtualSize)
        case .qcow2:
            try createQcow2(options, size: virtualSize)
        }
    }

    /// The options after "fmt=...": given values and defaults, in the driver's order.
    private func formattingOptions(_ options: OptionList, _ descriptors: [ImageOptionDescriptor]) -> String {
        var parts: [String] = []
        for descriptor in descriptors {
            if let value = options.value(descriptor.name) {
                parts.append("\(descriptor.name)=\(descriptor.display(value))")
            } else if let value = descriptor.defaultValue {
                parts.append("\(descriptor.name)=\(value)")
            }
        }
        return parts.joined(separator: " ")
    }

    /// QEMU rounds sizes up to whole 512-byte sectors.
    private static func sectorAligned(_ size: UInt64) throws(ToolError) -> UInt64 {
        let (rounded, overflow) = size.addingReportingOverflow(511)
        guard !overflow, rounded & ~511 <= UInt64(Int64.max) else { throw ToolError("Image size is too large") }
        return rounded & ~511
    }

    private func createRaw(_ options: OptionList, size: UInt64) throws(ToolError) {
        let preallocation = try Self.preallocation(options.value("preallocation"), allowsMetadata: false)
        let bytes = try Self.sectorAligned(size)
        do {
            try RawImage.create(path: path, size: bytes, preallocation: preallocation)
            if preallocation == .off && bytes > 0 {
                // QEMU writes the first block of a new raw file so that alignment probing works later;
                // doing the same keeps `map` and `info` identical for new files.
                let image = try RawImage(path: path)
                try ImageIO.write(image, at: 0, [UInt8](repeating: 0, count: Int(min(bytes, 4096))))
            }
        } catch {
            throw ImageOpener.plain(error)
        }
    }

    private static func preallocation(_ value: String?, allowsMetadata: Bool) throws(ToolError) -> ImagePreallocation {
        guard let value else { return .off }
        guard let mode = ImagePreallocation(rawValue: value) else {
            if allowsMetadata { throw ToolError("Parameter 'preallocation' does not accept value '\(value)'") }
            throw ToolError("invalid parameter value: \(value)")
        }
        if mode == .metadata && !allowsMetadata { throw ToolError("Unsupported preallocation mode: metadata") }
        return mode
    }

    /// qcow2_co_create_opts and qcow2_co_create's checks, in their order and words.
    private func createQcow2(_ options: OptionList, size: UInt64) throws(ToolError) {
        var create = Qcow2CreateOptions(size: try Self.sectorAligned(size))
        let versionHint = " (use version=v3 or greater)"
        if let compat = options.value("compat") {
            switch compat {
            case "0.10", "v2": create.compatibility = .v2
            case "1.1", "v3": create.compatibility = .v3
            default: throw ToolError("Parameter 'version' does not accept value '\(compat)'")
            }
        }
        if let name = options.value("backing_fmt") {
            guard let backingFormat = DiskImageFormat(rawValue: name) else {
                throw ToolError("Parameter 'backing-fmt' does not accept value '\(name)'")
            }
            create.backingFormat = backingFormat
        }
        create.backingFile = options.value("backing_file")
        if let value = options.value("cluster_size"), let bytes = try? SizeParser.parse(value).get() {
            create.clusterSize = bytes > UInt64(Int32.max) ? 0 : Int(bytes)
        }
        create.preallocation = try Self.preallocation(options.value("preallocation"), allowsMetadata: true)
        create.lazyRefcounts = options.value("lazy_refcounts").flatMap(BoolValue.parse) ?? false
        create.extendedL2 = options.value("extended_l2").flatMap(BoolValue.parse) ?? false
        if let value = options.value("refcount_bits"), let bits = UInt64(value) {
            create.refcountBits = bits > 64 ? 3 : Int(bits)
        }
        if let name = options.value("compression_type") {
            switch name {
            case "zlib": create.compressionType = .zlib
            case "zstd": create.compressionType = .zstd
            default: throw ToolError("Parameter 'compression-type' does not accept value '\(name)'")
            }
        }
        let isV2 = create.compatibility == .v2
        if create.extendedL2 && isV2 {
            throw ToolError(
                "Extended L2 entries are only supported with compatibility level 1.1 and above" + versionHint)
        }
        let cluster = create.clusterSize
        guard cluster >= 512, cluster <= 2 << 20, cluster & (cluster - 1) == 0 else {
            throw ToolError("Cluster size must be a power of two between 512 and 2048k")
        }
        if create.extendedL2 && cluster < 16384 {
            throw ToolError("Extended L2 entries are only supported with cluster sizes of at least 16384 bytes")
        }
        if create.backingFile != nil && create.preallocation != .off && !create.extendedL2 {
            throw ToolError("Backing file and preallocation can only be used at the same time if extended_l2 is on")
        }
        if create.backingFormat != nil && create.backingFile == nil {
            throw ToolError("Backing format cannot be used without backing file")
        }
        if isV2 && create.lazyRefcounts {
            throw ToolError("Lazy refcounts only supported with compatibility level 1.1 and above" + versionHint)
        }
        let bits = create.refcountBits
        guard bits > 0, bits <= 64, bits & (bits - 1) == 0 else {
            throw ToolError("Refcount width must be a power of two and may not exceed 64 bits")
        }
        if isV2 && bits != 16 {
            throw ToolError(
                "Different refcount widths than 16 bits require compatibility level 1.1 or above" + versionHint)
        }
        if options.contains("data_file") || options.value("data_file_raw").flatMap(BoolValue.parse) == true {
            throw ToolError("External data files are not supported by \(ToolOutput.toolName)")
        }
        if isV2 && create.compressionType != .zlib {
            throw ToolError(
                "Non-zlib compression type is only supported with compatibility level 1.1 and above" + versionHint)
        }
        if options.value("encryption").flatMap(BoolValue.parse) == true || options.contains("encrypt.format") {
            throw ToolError("Encrypted images are not supported by \(ToolOutput.toolName)")
        }
        if Qcow2Measure.l1Bytes(
            virtualSize: create.size ?? 0, clusterSize: UInt64(cluster), extendedL2: create.extendedL2)
            > 32 << 20
        {
            throw ToolError("The image size is too large for file format 'qcow2' (try using a larger cluster size)")
        }
        do {
            try Qcow2Image.create(path: path, options: create)
        } catch {
            throw ImageOpener.plain(error)
        }
    }
}
