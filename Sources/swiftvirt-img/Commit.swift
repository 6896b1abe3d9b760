import ArgumentParser
import DiskImage

/// `commit [-q] [-f fmt] [-b base] [-d] [-p] filename` (QEMU's img_commit): everything the layers above
/// `base` (default: the immediate backing file) map is written into it; then the image is emptied
/// unless -d, so it reads through to the updated backing file.
struct Commit: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Write an image's changes into its backing file.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Image format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(
        name: .customShort("b", allowingJoined: true),
        help: ArgumentHelp("Commit down to this image of the chain.", valueName: "base"))
    var base: String?

    @Flag(name: .customShort("d"), help: "Keep the image's data (do not empty it).")
    var keep = false

    @Flag(name: .customShort("p"), help: "Show progress.")
    var progress = false

    @Flag(name: .customShort("q"), help: "Quiet.")
    var quiet = false

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp("Cache mode (accepted, ignored).", valueName: "cache"))
    var cache: String?

    @Option(
        name: .customShort("r", allowingJoined: true),
        help: ArgumentHelp("Rate limit (accepted, ignored).", valueName: "rate_limit"))
    var rateLimit: String?

    @Argument(help: "filename")
    var files: [String] = []

    /// Bytes per copy request.
    static let chunkSize: UInt64 = 2 << 20

    mutating func execute() throws(ToolError) -> Int32 {
        guard files.count == 1, let path = files.first else { throw ToolError.usage("Expecting one image file name") }
        // Opened once as qemu-img opens it, so another process's locks fail it with qemu-img's message;
        // then kept open with its chain sharing everything, as its base is about to be opened for writing
        // here (QEMU's commit job takes write permission on the base node it already holds).
        _ = try ImageOpener.open(path, formatName: format, readOnly: false)
        let image = try ImageOpener.open(path, formatName: format, readOnly: false, backingSharing: .forceShare)
        let bar = ProgressBar(enabled: progress && !quiet)
        bar.set(0)
        defer { bar.end() }
        let top = image as? Qcow2Image
        defer { try? top?.close() }
        let chain = Self.chain(image)
        let found: (index: Int, layer: any DiskImage, path: String)?
        if let base {
            // Images between base and the top become invalid, so -b implies -d (as in qemu-img).
            keep = true
            found = Self.find(base, in: chain)
            guard found != nil else {
                throw ToolError("Did not find '\(base)' in the backing chain of '\(path)'")
            }
        } else {
            found = chain.count > 1 ? (1, chain[1].layer, chain[1].path) : nil
            guard found != nil else { throw ToolError("Image does not have a backing file") }
        }
        guard let (baseDepth, baseLayer, basePath) = found else { return 1 }

        let target: any DiskImage
        do {
            target = try DiskImages.open(path: basePath, format: baseLayer.format, readOnly: false)
        } catch {
            throw ImageOpener.failure(basePath, error)
        }
        do {
            try copy(from: image, into: target, baseDepth: baseDepth, bar: bar)
            if let qcow2 = target as? Qcow2Image { try qcow2.close() } else { try target.flush() }
        } catch {
            throw ToolError(ImageOpener.describe(error))
        }
        if !keep, let top {
            do {
                try top.makeEmpty()
            } catch {
                throw ToolError("Could not empty \(path): \(ImageOpener.describe(error))")
            }
        }
        do {
            try top?.close()
        } catch {
            throw ToolError(ImageOpener.describe(error))
        }
        bar.set(100)
        bar.end()
        if !quiet { ToolOutput.out("Image committed.\n") }
        return 0
    }

    /// Writes into `target` every range a layer above depth `baseDepth` maps.
    private func copy(
        from image: any DiskImage, into target: any DiskImage, baseDepth: Int, bar: ProgressBar
    ) throws(DiskImageError) {
        let size = image.virtualSize
        if target.virtualSize < size {
            switch target {
            case let qcow2 as Qcow2Image: try qcow2.resize(to: size)
            case let raw as RawImage: try raw.resize(to: size)
            default: throw .notSupported("growing the base image")
            }
        }
        var buffer = [UInt8](repeating: 0, count: Int(Self.chunkSize))
        var offset: UInt64 = 0
        // Every status covers at least one byte, so the loop ends within `size` rounds.
        while offset < size {
            let status = try ChainStatus.query(image, at: offset, length: min(Self.chunkSize, size - offset))
            if status.present && status.depth < baseDepth {
                if status.zero {
                    try target.writeZeroes(at: offset, length: status.length)
                } else {
                    let count = Int(status.length)
                    do {
                        try buffer.withUnsafeMutableBytes { bytes in
                            let chunk = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<count])
                            try image.read(at: offset, into: chunk)
                            try target.write(at: offset, from: UnsafeRawBufferPointer(chunk))
                        }
                    } catch {
                        throw error as? DiskImageError ?? .invalidArgument("\(error)")
                    }
                }
            }
            offset += status.length
            bar.set(Float(Double(offset) * 100 / Double(size)))
        }
    }

    /// The chain from the top: each layer with the path it was opened from.
    private static func chain(_ image: any DiskImage) -> [(layer: any DiskImage, path: String)] {
        var layers: [(any DiskImage, String)] = []
        var current: (any DiskImage)? = image
        while let layer = current, layers.count < 64 {
            switch layer {
            case let qcow2 as Qcow2Image:
                layers.append((qcow2, qcow2.path))
                current = qcow2.backingImage
            case let raw as RawImage:
                layers.append((raw, raw.path))
                current = nil
            default:
                current = nil
            }
        }
        return layers
    }

    /// QEMU's bdrv_find_backing_image: `name` as given or relative to an overlay's directory.
    private static func find(
        _ name: String, in chain: [(layer: any DiskImage, path: String)]
    ) -> (index: Int, layer: any DiskImage, path: String)? {
        for index in chain.indices.dropFirst() {
            let layerIdentity = FileIdentity(chain[index].path)
            let candidates = [name, DiskImages.resolve(backingFile: name, relativeTo: chain[index - 1].path)]
            for candidate in candidates
            where candidate == chain[index].path
                || (layerIdentity != nil && FileIdentity(candidate) == layerIdentity)
            {
                return (index, chain[index].layer, chain[index].path)
            }
        }
        return nil
    }
}
