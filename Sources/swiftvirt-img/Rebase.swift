import ArgumentParser
import DiskImage

/// `rebase [-U] [-q] [-f fmt] [-p] [-u] -b backing_file [-F backing_fmt] filename` (QEMU's img_rebase).
/// Safe mode first copies into the image every range it does not map where the old and the new
/// backing file differ, so the guest-visible content stays the same; -u only rewrites the header.
struct Rebase: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Change an image's backing file.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Image format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(
        name: .customShort("b", allowingJoined: true),
        help: ArgumentHelp("New backing file (\"\" for none).", valueName: "backing_file"))
    var backingFile: String?

    @Option(
        name: .customShort("F", allowingJoined: true),
        help: ArgumentHelp("New backing file's format.", valueName: "backing_fmt"))
    var backingFormat: String?

    @Flag(name: .customShort("u"), help: "Unsafe: only change the header (the backing files must match).")
    var unsafe = false

    @Flag(name: .customShort("p"), help: "Show progress.")
    var progress = false

    @Flag(name: .customShort("q"), help: "Quiet.")
    var quiet = false

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp("Cache mode (accepted, ignored).", valueName: "cache"))
    var cache: String?

    @Option(
        name: .customShort("T", allowingJoined: true),
        help: ArgumentHelp("Source cache mode (accepted, ignored).", valueName: "src_cache"))
    var sourceCache: String?

    @OptionGroup var forceShare: ForceShareOption

    @Argument(help: "filename")
    var files: [String] = []

    /// Bytes compared per round (QEMU's IO_BUF_SIZE).
    static let chunkSize: UInt64 = 2 << 20

    mutating func execute() throws(ToolError) -> Int32 {
        guard files.count == 1, let path = files.first else { throw ToolError.usage("Expecting one image file name") }
        if !unsafe && backingFile == nil {
            throw ToolError.usage("Must specify backing file (-b) or use unsafe mode (-u)")
        }
        let newBacking = backingFile ?? ""
        let bar = ProgressBar(enabled: progress && !quiet, minimumStep: 2.0)
        bar.set(0)
        defer { bar.end() }
        if let backingFormat, DiskImageFormat(rawValue: backingFormat) == nil {
            throw ToolError("Invalid format name: '\(backingFormat)'")
        }
        let imageFormat: DiskImageFormat
        if unsafe {
            imageFormat = try ImageOpener.format(of: path, formatName: format)
            if imageFormat == .qcow2 {
                do {
                    _ = try Qcow2Image.openIgnoringBacking(path: path)
                } catch {
                    throw ImageOpener.failure(path, error)
                }
            } else {
                _ = try ImageOpener.open(path, formatName: format, readOnly: false)
            }
        } else {
            // -U applies to the backing files, as in qemu-img.
            let image = try ImageOpener.open(
                path, formatName: format, readOnly: false, backingSharing: ImageOpener.sharing(forceShare.enabled))
            imageFormat = image.format
            if let qcow2 = image as? Qcow2Image {
                try copyDifferences(qcow2, path: path, newBacking: newBacking, bar: bar)
            }
        }

        guard imageFormat == .qcow2 else {
            throw ToolError("Could not change the backing file to '\(newBacking)': Operation not supported")
        }
        if !newBacking.isEmpty && backingFormat == nil {
            throw ToolError("Could not change the backing file to '\(newBacking)': backing format must be specified")
        }
        do {
            try Qcow2Image.changeBackingFile(
                path: path, to: newBacking.isEmpty ? nil : newBacking, format: newBacking.isEmpty ? nil : backingFormat)
        } catch {
            throw ToolError("Could not change the backing file to '\(newBacking)': \(ImageOpener.describe(error))")
        }
        bar.set(100)
        return 0
    }

    /// Writes into `image` what its old backing chain shows and the new one would not.
    private func copyDifferences(
        _ image: Qcow2Image, path: String, newBacking: String, bar: ProgressBar
    ) throws(ToolError) {
        defer { try? image.close() }
        var newImage: (any DiskImage)?
        /// Depth of the new backing file in the old chain: ranges no layer above it maps need no work.
        var prefixDepth: Int?
        if !newBacking.isEmpty {
            let resolved = DiskImages.resolve(backingFile: newBacking, relativeTo: path)
            let format = backingFormat.flatMap(DiskImageFormat.init(rawValue:))
            if let (layer, depth) = Self.findInChain(image, resolved), format == nil || format == layer.format {
                newImage = layer
                prefixDepth = depth
            } else {
                do {
                    newImage = try DiskImages.open(
                        path: resolved, format: format, readOnly: true,
                        sharing: ImageOpener.sharing(forceShare.enabled))
                } catch {
                    throw ToolError("Could not open new backing file '\(newBacking)': \(ImageOpener.describe(error))")
                }
            }
        }
        let oldImage = image.backingImage
        let size = image.virtualSize
        let oldSize = oldImage?.virtualSize ?? 0
        let newSize = newImage?.virtualSize ?? 0
        let step: Float = size == 0 ? 0 : 100 / Float(size / min(size, Self.chunkSize))
        var oldBuffer = [UInt8](repeating: 0, count: Int(Self.chunkSize))
        var newBuffer = [UInt8](repeating: 0, count: Int(Self.chunkSize))
        var offset: UInt64 = 0
        // Every status covers at least one byte, so the loop ends within `size` rounds.
        while offset < size {
            var count = min(Self.chunkSize, size - offset)
            let status: ChainStatus
            do {
                status = try ChainStatus.query(image, at: offset, length: count)
            } catch {
                throw ToolError("error while reading image metadata: \(ImageOpener.describe(error))")
            }
            count = status.length
            if status.depth == 0 && status.present {
                offset += count
                continue
            }
            if let prefixDepth, !status.present || status.depth >= prefixDepth {
                offset += count
                continue
            }
            let oldIsZero = offset >= oldSize
            if !oldIsZero {
                count = min(count, oldSize - offset)
                guard let oldImage, Self.read(oldImage, at: offset, count: count, into: &oldBuffer) else {
                    throw ToolError("error while reading from old backing file")
                }
            }
            if let newImage, offset < newSize {
                count = min(count, newSize - offset)
                guard Self.read(newImage, at: offset, count: count, into: &newBuffer) else {
                    throw ToolError("error while reading from new backing file")
                }
            } else {
                Self.clear(&newBuffer, count)
            }
            if oldIsZero { Self.clear(&oldBuffer, count) }
            try writeDifferences(image, at: offset, count: Int(count), oldBuffer, newBuffer, oldIsZero: oldIsZero)
            offset += count
            bar.advance(step)
        }
        do {
            try image.close()
        } catch {
            throw ToolError("Error while writing to COW image: \(ImageOpener.describe(error))")
        }
    }

    /// The layer of `image`'s backing chain that is the file at `path` (same device and inode), and its
    /// depth (1 for the direct backing file).
    private static func findInChain(_ image: Qcow2Image, _ path: String) -> (any DiskImage, Int)? {
        guard let target = FileIdentity(path) else { return nil }
        var layer = image.backingImage
        var depth = 1
        while let current = layer, depth <= 64 {
            let name = (current as? Qcow2Image)?.path ?? (current as? RawImage)?.path
            if let name, FileIdentity(name) == target { return (current, depth) }
            layer = (current as? Qcow2Image)?.backingImage
            depth += 1
        }
        return nil
    }

    /// Sector by sector, as QEMU's compare_buffers: runs that differ are written (zeroes where the old
    /// backing file ended).
    private func writeDifferences(
        _ image: Qcow2Image, at offset: UInt64, count: Int, _ old: [UInt8], _ new: [UInt8], oldIsZero: Bool
    ) throws(ToolError) {
        var done = 0
        while done < count {
            let first = min(512, count - done)
            let differs = !Self.equal(old, new, done, first)
            var end = done + first
            while end < count {
                let length = min(512, count - end)
                if !Self.equal(old, new, end, length) != differs { break }
                end += length
            }
            if differs {
                do {
                    if oldIsZero {
                        try image.writeZeroes(at: offset + UInt64(done), length: UInt64(end - done))
                    } else {
                        try ImageIO.write(image, at: offset + UInt64(done), Array(old[done..<end]))
                    }
                } catch {
                    throw ToolError("Error while writing to COW image: \(ImageOpener.describe(error))")
                }
            }
            done = end
        }
    }

    private static func equal(_ a: [UInt8], _ b: [UInt8], _ start: Int, _ length: Int) -> Bool {
        a.withUnsafeBytes { left in
            b.withUnsafeBytes { right in
                ZeroScan.firstDifference(
                    UnsafeRawBufferPointer(rebasing: left[start..<start + length]),
                    UnsafeRawBufferPointer(rebasing: right[start..<start + length])) == nil
            }
        }
    }

    /// Reads `count` bytes into the start of `buffer`; false when the read fails.
    private static func read(_ image: any DiskImage, at offset: UInt64, count: UInt64, into buffer: inout [UInt8])
        -> Bool
    {
        do {
            try buffer.withUnsafeMutableBytes { bytes in
                try image.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<Int(count)]))
            }
            return true
        } catch {
            return false
        }
    }

    private static func clear(_ buffer: inout [UInt8], _ count: UInt64) {
        _ = buffer.withUnsafeMutableBytes { bytes in
            UnsafeMutableRawBufferPointer(rebasing: bytes[0..<Int(count)]).initializeMemory(
                as: UInt8.self, repeating: 0)
        }
    }
}
