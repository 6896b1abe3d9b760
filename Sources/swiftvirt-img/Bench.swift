import ArgumentParser
import DiskImage

#if canImport(Glibc)
    import Glibc
#endif

/// `bench [-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval] [-i aio] [-n] [--no-drain]
/// [-o offset] [--pattern=pattern] [-q] [-s buffer_size] [-S step_size] [-t cache] [-w] [-U] filename`
/// (QEMU's img_bench): `count` requests of `buffer_size` bytes from `offset` on, `step_size` apart and
/// wrapping at the end of the image. QEMU keeps `depth` requests in flight; here they are served one
/// after another (the depth is reported and checked, as qemu-img does).
struct Bench: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Time a run of read or write requests on an image.")

    @Option(name: .customShort("c", allowingJoined: true), help: ArgumentHelp("Requests (75000).", valueName: "count"))
    var count: String?

    @Option(
        name: .customShort("d", allowingJoined: true),
        help: ArgumentHelp("Requests in flight (64; served in order).", valueName: "depth"))
    var depth: String?

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Image format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(name: .customLong("flush-interval"), help: ArgumentHelp("Flush every N writes.", valueName: "N"))
    var flushInterval: String?

    @Option(
        name: .customShort("i", allowingJoined: true),
        help: ArgumentHelp("AIO mode (threads, native, io_uring; accepted).", valueName: "aio"))
    var aio: String?

    @Flag(name: .customShort("n"), help: "Native AIO (needs -t none or directsync; accepted).")
    var nativeAIO = false

    @Flag(name: .customLong("no-drain"), help: "Do not wait for requests in flight before a flush.")
    var noDrain = false

    @Option(name: .customShort("o", allowingJoined: true), help: ArgumentHelp("First offset (0).", valueName: "offset"))
    var offset: String?

    @Option(name: .customLong("pattern"), help: ArgumentHelp("Byte written (0).", valueName: "pattern"))
    var pattern: String?

    @Flag(name: .customShort("q"), help: "Quiet (qemu-img prints the same).")
    var quiet = false

    @Option(
        name: .customShort("s", allowingJoined: true),
        help: ArgumentHelp("Bytes per request (4096).", valueName: "buffer_size"))
    var bufferSize: String?

    @Option(
        name: .customShort("S", allowingJoined: true),
        help: ArgumentHelp("Bytes between request offsets (the buffer size).", valueName: "step_size"))
    var stepSize: String?

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp("Cache mode (writeback; unsafe skips fdatasync).", valueName: "cache"))
    var cache: String?

    @Flag(name: .customShort("w"), help: "Write instead of read.")
    var write = false

    @OptionGroup var forceShare: ForceShareOption

    @Flag(name: .customLong("image-opts"), help: .hidden)
    var imageOptions = false

    @Argument(help: "filename")
    var files: [String] = []

    /// The run's parameters once validated.
    private struct Run {
        var count = 75000
        var depth = 64
        var offset: UInt64 = 0
        var bufferSize = 4096
        var step = 0
        var pattern: UInt8 = 0
        var flushInterval = 0
        var cacheMode = "writeback"
    }

    mutating func execute() throws(ToolError) -> Int32 {
        let run = try parse()
        guard files.count == 1, let path = files.first else { throw ToolError.usage("Expecting one image file name") }
        if imageOptions { throw ToolError("--image-opts is not supported by \(ToolOutput.toolName)") }
        if !write && run.flushInterval > 0 { throw ToolError("--flush-interval is only available in write tests") }
        if run.flushInterval > 0 && run.flushInterval < run.depth {
            throw ToolError("Flush interval can't be smaller than depth")
        }
        if nativeAIO && run.cacheMode != "none" && run.cacheMode != "directsync" {
            throw ToolError(
                "Could not open '\(path)': aio=native was specified, but it requires cache.direct=on, which was not"
                    + " specified.")
        }
        let image = try ImageOpener.open(path, formatName: format, readOnly: !write, forceShare: forceShare.enabled)
        (image as? Qcow2Image)?.synchronizesWrites = run.cacheMode != "unsafe"
        let step = run.step == 0 ? run.bufferSize : run.step
        var text = "Sending \(run.count) \(write ? "write" : "read") requests, \(run.bufferSize) bytes each,"
        text += " \(run.depth) in parallel (starting at offset \(run.offset), step size \(step))\n"
        if run.flushInterval > 0 { text += "Sending flush every \(run.flushInterval) requests\n" }
        ToolOutput.out(text)

        let start = Self.now()
        do {
            try requests(image, run, step: step)
        } catch {
            throw ToolError("Failed request: \(Self.reason(error))")
        }
        let seconds = Self.now() - start
        ToolOutput.out("Run completed in " + cFormat("%3.3f", seconds) + " seconds.\n")
        do {
            if let qcow2 = image as? Qcow2Image { try qcow2.close() } else if write { try image.flush() }
        } catch {
            throw ToolError("Failed request: \(Self.reason(error))")
        }
        return 0
    }

    /// bench_cb's sequence: each request `step` after the last, wrapping at the image size; with a flush
    /// interval, a flush after every that many writes (the requests before it have completed, so
    /// draining or not is the same here).
    private func requests(_ image: any DiskImage, _ run: Run, step: Int) throws(DiskImageError) {
        var buffer = [UInt8](repeating: run.pattern, count: run.bufferSize)
        let size = image.virtualSize
        let flushesEveryWrite = run.cacheMode == "writethrough" || run.cacheMode == "directsync"
        var offset = run.offset
        var issued = 0
        while issued < run.count {
            issued += 1
            if write {
                try ImageIO.write(image, at: offset, buffer)
                if flushesEveryWrite || (run.flushInterval > 0 && issued % run.flushInterval == 0) {
                    try image.flush()
                }
            } else {
                try ImageIO.read(image, at: offset, into: &buffer)
            }
            let (next, overflow) = offset.addingReportingOverflow(UInt64(step))
            offset = size == 0 || overflow ? 0 : next % size
        }
    }

    private mutating func parse() throws(ToolError) -> Run {
        var run = Run()
        if let count {
            run.count = try Self.unsigned(count, maximum: Int(Int32.max), "Invalid request count specified")
        }
        if let depth { run.depth = try Self.unsigned(depth, maximum: Int(Int32.max), "Invalid queue depth specified") }
        if let offset { run.offset = try SizeParser.argument("offset", offset) }
        if let bufferSize {
            run.bufferSize = Int(try SizeParser.argument("buffer size", bufferSize, maximum: UInt64(Int32.max)))
        }
        if let stepSize { run.step = Int(try SizeParser.argument("step_size", stepSize, maximum: UInt64(Int32.max))) }
        if let cache {
            guard CacheMode.valid.contains(cache) else { throw ToolError("Invalid cache mode") }
            run.cacheMode = cache
        }
        if let aio, !["threads", "native", "io_uring"].contains(aio) {
            throw ToolError("Invalid aio option: \(aio)")
        }
        if let pattern {
            run.pattern = UInt8(try Self.unsigned(pattern, maximum: 0xFF, "Invalid pattern byte specified"))
        }
        if let flushInterval {
            run.flushInterval = try Self.unsigned(
                flushInterval, maximum: Int(Int32.max), "Invalid flush interval specified")
        }
        return run
    }

    /// qemu_strtoul with base 0 (decimal, 0x hex, 0 octal) bounded by `maximum`; `message` otherwise.
    private static func unsigned(_ text: String, maximum: Int, _ message: String) throws(ToolError) -> Int {
        var digits = Substring(text.drop { $0 == " " || $0 == "\t" })
        var radix = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.count > 1 && digits.hasPrefix("0") {
            radix = 8
        }
        guard let value = UInt64(digits, radix: radix), value <= UInt64(maximum) else { throw ToolError(message) }
        return Int(value)
    }

    /// strerror of the failure, as bench_cb prints it; requests outside the image fail with EIO.
    private static func reason(_ error: DiskImageError) -> String {
        switch error {
        case .io(_, _, _, let code), .open(_, let code): return ImageOpener.errnoText(code)
        default: return ImageOpener.errnoText(EIO)
        }
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
