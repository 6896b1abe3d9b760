import ArgumentParser
import DiskImage

/// `compare [-f fmt] [-F fmt] [-p] [-q] [-s] [-U] filename1 filename2`: exit 0 when the images read the
/// same, 1 when they differ, 2 when one cannot be opened, 3 or 4 when a status or read fails (QEMU's
/// img_compare). Areas past the end of the shorter image must read as zeroes unless -s.
struct Compare: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Check whether two images have the same content.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Format of the first image.", valueName: "fmt"))
    var firstFormat: String?

    @Option(
        name: .customShort("F", allowingJoined: true),
        help: ArgumentHelp("Format of the second image.", valueName: "backing_fmt"))
    var secondFormat: String?

    @Flag(name: .customShort("s"), help: "Strict: sizes and allocation must match too.")
    var strict = false

    @Flag(name: .customShort("p"), help: "Show progress.")
    var progress = false

    @Flag(name: .customShort("q"), help: "Quiet.")
    var quiet = false

    @Option(
        name: .customShort("T", allowingJoined: true),
        help: ArgumentHelp("Source cache mode (accepted, ignored).", valueName: "src_cache"))
    var cache: String?

    @OptionGroup var forceShare: ForceShareOption

    @Argument(help: "filename1 filename2")
    var files: [String] = []

    /// Bytes compared per read (QEMU's IO_BUF_SIZE).
    static let chunkSize: UInt64 = 2 << 20

    private struct Mismatch: Error {
        let status: Int32
        let message: String?
    }

    mutating func execute() throws(ToolError) -> Int32 {
        guard files.count == 2 else { throw ToolError.usage("Expecting two image file names") }
        let bar = ProgressBar(enabled: progress && !quiet, minimumStep: 2.0)
        bar.set(0)
        defer { bar.end() }
        let first: any DiskImage
        let second: any DiskImage
        do {
            first = try ImageOpener.open(
                files[0], formatName: firstFormat, readOnly: true, forceShare: forceShare.enabled)
            second = try ImageOpener.open(
                files[1], formatName: secondFormat, readOnly: true, forceShare: forceShare.enabled)
        } catch {
            throw error.withExitCode(2)
        }
        do {
            try compare(first, second, bar)
            say("Images are identical.")
            return 0
        } catch {
            if let message = error.message { say(message) }
            return error.status
        }
    }

    private func say(_ line: String) {
        if !quiet { ToolOutput.out(line + "\n") }
    }

    private func compare(_ first: any DiskImage, _ second: any DiskImage, _ bar: ProgressBar) throws(Mismatch) {
        let (size1, size2) = (first.virtualSize, second.virtualSize)
        let common = min(size1, size2)
        let whole = Float(max(size1, size2, 1))
        if strict && size1 != size2 { throw Mismatch(status: 1, message: "Strict mode: Image size mismatch!") }
        var buffer1 = [UInt8](repeating: 0, count: Int(Self.chunkSize))
        var buffer2 = [UInt8](repeating: 0, count: Int(Self.chunkSize))
        var offset: UInt64 = 0
        // Every status covers at least one byte, so the loop ends within `common` rounds.
        while offset < common {
            let status1 = try status(first, files[0], at: offset, end: size1)
            let status2 = try status(second, files[1], at: offset, end: size2)
            var chunk = min(status1.length, status2.length)
            if strict && !Self.sameFlags(status1, status2) {
                throw Mismatch(status: 1, message: "Strict mode: Offset \(offset) block status mismatch!")
            }
            if status1.zero && status2.zero {
                // Both read as zeroes.
            } else if status1.present == status2.present {
                if status1.present {
                    chunk = min(chunk, Self.chunkSize)
                    try read(first, files[0], at: offset, count: Int(chunk), into: &buffer1)
                    try read(second, files[1], at: offset, count: Int(chunk), into: &buffer2)
                    let difference = buffer1.withUnsafeBytes { a in
                        buffer2.withUnsafeBytes { b in
                            ZeroScan.firstDifference(
                                UnsafeRawBufferPointer(rebasing: a[0..<Int(chunk)]),
                                UnsafeRawBufferPointer(rebasing: b[0..<Int(chunk)]))
                        }
                    }
                    if let difference {
                        throw Mismatch(status: 1, message: "Content mismatch at offset \(offset + UInt64(difference))!")
                    }
                }
            } else {
                chunk = min(chunk, Self.chunkSize)
                if status1.present {
                    try checkEmpty(first, files[0], at: offset, count: Int(chunk), &buffer1)
                } else {
                    try checkEmpty(second, files[1], at: offset, count: Int(chunk), &buffer1)
                }
            }
            offset += chunk
            bar.advance(Float(chunk) / whole * 100)
        }
        if size1 != size2 {
            say("Warning: Image size mismatch!")
            let (longer, name, end) = size1 > size2 ? (first, files[0], size1) : (second, files[1], size2)
            while offset < end {
                let status = try status(longer, name, at: offset, end: end)
                var chunk = status.length
                if status.present && !status.zero {
                    chunk = min(chunk, Self.chunkSize)
                    try checkEmpty(longer, name, at: offset, count: Int(chunk), &buffer1)
                }
                offset += chunk
                bar.advance(Float(chunk) / whole * 100)
            }
        }
    }

    /// Strict mode compares QEMU's status flags: data, zero, allocated, whether an offset is known, and
    /// whether the extent reaches the end of the image.
    private static func sameFlags(_ a: ChainStatus, _ b: ChainStatus) -> Bool {
        a.data == b.data && a.zero == b.zero && a.present == b.present && (a.offset == nil) == (b.offset == nil)
            && a.endsAtEOF == b.endsAtEOF
    }

    private func status(_ image: any DiskImage, _ name: String, at offset: UInt64, end: UInt64) throws(Mismatch)
        -> ChainStatus
    {
        do {
            return try ChainStatus.query(image, at: offset, length: end - offset)
        } catch {
            ToolOutput.error("Sector allocation test failed for \(name)")
            throw Mismatch(status: 3, message: nil)
        }
    }

    private func read(
        _ image: any DiskImage, _ name: String, at offset: UInt64, count: Int, into buffer: inout [UInt8]
    ) throws(Mismatch) {
        do {
            try buffer.withUnsafeMutableBytes { target in
                try image.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: target[0..<count]))
            }
        } catch {
            let reason = (error as? DiskImageError).map(ImageOpener.describe) ?? "\(error)"
            ToolOutput.error("Error while reading offset \(offset) of \(name): \(reason)")
            throw Mismatch(status: 4, message: nil)
        }
    }

    /// QEMU's check_empty_sectors: the range must read as zeroes.
    private func checkEmpty(
        _ image: any DiskImage, _ name: String, at offset: UInt64, count: Int, _ buffer: inout [UInt8]
    ) throws(Mismatch) {
        try read(image, name, at: offset, count: count, into: &buffer)
        let index = buffer.withUnsafeBytes { ZeroScan.firstNonZero(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        if let index { throw Mismatch(status: 1, message: "Content mismatch at offset \(offset + UInt64(index))!") }
    }
}
