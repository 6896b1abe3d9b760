import DiskImage

#if canImport(Glibc)
    import Glibc
#endif

/// Opens images for the commands, with qemu-img's wording when that fails ("Could not open 'x': ...")
/// and its warning when a probed raw image is opened for writing.
enum ImageOpener {
    /// Opens `path` (and its backing chain) as `formatName`, or probes the format. Images are locked as
    /// qemu-img locks them; `forceShare` is -U (read-only opens only). The backing files are locked for
    /// `backingSharing` when given.
    static func open(
        _ path: String, formatName: String?, readOnly: Bool, forceShare: Bool = false,
        backingSharing: ImageSharing? = nil
    ) throws(ToolError) -> any DiskImage {
        let format: DiskImageFormat?
        do {
            format = try ImageFormatName.forOpening(formatName)
        } catch {
            throw ToolError("Could not open '\(path)': \(error.message)")
        }
        do {
            let image = try DiskImages.open(
                path: path, format: format, readOnly: readOnly, sharing: sharing(forceShare),
                backingSharing: backingSharing)
            if format == nil && image.format == .raw && !readOnly { warnProbedRaw(path) }
            return image
        } catch {
            throw failure(path, error)
        }
    }

    /// A qcow2 image opened for check or repair: corrupt images are accepted when repairing.
    static func openQcow2(
        _ path: String, readOnly: Bool, allowCorrupt: Bool, forceShare: Bool = false
    ) throws(ToolError) -> Qcow2Image {
        do {
            return try Qcow2Image(
                path: path, readOnly: readOnly, allowCorrupt: allowCorrupt, sharing: sharing(forceShare))
        } catch {
            throw failure(path, error)
        }
    }

    /// -U's sharing.
    static func sharing(_ forceShare: Bool) -> ImageSharing { forceShare ? .forceShare : .standard }

    /// The probed or given format, failing like `open` would.
    static func format(of path: String, formatName: String?) throws(ToolError) -> DiskImageFormat {
        do {
            if let format = try ImageFormatName.forOpening(formatName) { return format }
        } catch {
            throw ToolError("Could not open '\(path)': \(error.message)")
        }
        do {
            return try DiskImages.probeFormat(path: path)
        } catch {
            throw failure(path, error)
        }
    }

    /// qemu-img's message for a failed open of `path`; a failure further down the chain is reported as
    /// a backing file that could not be opened.
    static func failure(_ path: String, _ error: DiskImageError) -> ToolError {
        switch error {
        case .open(let failedPath, let code):
            if failedPath == path {
                return ToolError("Could not open '\(path)': Could not open '\(path)': \(errnoText(code))")
            }
            return ToolError(
                "Could not open '\(path)': Could not open backing file: Could not open '\(failedPath)': \(errnoText(code))"
            )
        case .locked(let failedPath, let reason):
            let opening = failedPath == path ? "" : "Could not open backing file: "
            return ToolError("Could not open '\(path)': " + opening + reason, hints: [lockHint(failedPath)])
        case .corrupt(let reason) where reason.contains("marked corrupt"):
            return ToolError("Could not open '\(path)': qcow2: Image is corrupt; cannot be opened read/write")
        case .invalidImage(_, let reason) where reason == "no qcow2 magic":
            return ToolError("Could not open '\(path)': Image is not in qcow2 format")
        case .invalidImage(let failedPath, let reason):
            return ToolError("Could not open '\(path)': \(failedPath): \(reason)")
        default:
            return ToolError("Could not open '\(path)': \(describe(error))")
        }
    }

    /// A failure other than opening (creating an image) as qemu-img reports it: the message, and for
    /// an image locked by another process the hint naming it.
    static func plain(_ error: DiskImageError) -> ToolError {
        if case .locked(let path, let reason) = error { return ToolError(reason, hints: [lockHint(path)]) }
        return ToolError(describe(error))
    }

    /// QEMU's hint after a lock conflict (block/file-posix.c raw_handle_perm_lock).
    static func lockHint(_ path: String) -> String { "Is another process using the image [\(path)]?" }

    /// strerror(3) alone, as QEMU prints it.
    static func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    /// A library error in qemu-img's style (strerror without the errno number).
    static func describe(_ error: DiskImageError) -> String {
        switch error {
        case .open(let path, let code):
            return "Could not open '\(path)': \(errnoText(code))"
        case .io(let operation, _, let offset, let code):
            return "\(errnoText(code)) (\(operation) at offset \(offset))"
        default:
            return error.description
        }
    }

    /// QEMU warns that a probed raw image opened for writing is dangerous (its first block could be
    /// made to look like another format).
    static func warnProbedRaw(_ path: String) {
        ToolOutput.errorLine(
            """
            WARNING: Image format was not specified for '\(path)' and probing guessed raw.
                     Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.
                     Specify the 'raw' format explicitly to remove the restrictions.
            """)
    }
}
