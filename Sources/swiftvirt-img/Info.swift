import ArgumentParser
import DiskImage

/// `info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename`
struct Info: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Show an image's format, sizes and properties.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Image format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(name: .customLong("output"), help: ArgumentHelp("human or json.", valueName: "ofmt"))
    var output: String?

    @Flag(name: .customLong("backing-chain"), help: "Also show every image of the backing chain.")
    var backingChain = false

    @OptionGroup var forceShare: ForceShareOption

    @Flag(name: .customLong("image-opts"), help: .hidden)
    var imageOptions = false

    @Argument(help: "filename")
    var files: [String] = []

    /// Bound on --backing-chain, as the library bounds chains it opens.
    static let chainLimit = 16

    mutating func execute() throws(ToolError) -> Int32 {
        guard files.count == 1, let path = files.first else { throw ToolError.usage("Expecting one image file name") }
        let outputFormat = try OutputFormat.parse(output)
        if imageOptions { throw ToolError("--image-opts is not supported by \(ToolOutput.toolName)") }

        var reports: [ImageInfoReport] = []
        var current: (path: String, format: String?)? = (path, format)
        var seen: Set<String> = []
        while let (imagePath, imageFormat) = current {
            guard seen.insert(imagePath).inserted else {
                throw ToolError("Backing file '\(imagePath)' creates an infinite loop.")
            }
            guard reports.count < Self.chainLimit else {
                throw ToolError("The backing chain of '\(path)' is longer than \(Self.chainLimit) images")
            }
            let report = try ImageInfoReport.collect(
                path: imagePath, formatName: imageFormat, sharing: ImageOpener.sharing(forceShare.enabled))
            reports.append(report)
            guard backingChain, let next = report.fullBackingFilename else { break }
            current = (next, report.header?.backingFormat)
        }

        switch outputFormat {
        case .human:
            ToolOutput.out(reports.map(\.human).joined(separator: "\n"))
        case .json:
            let json: QemuJSON = backingChain ? .array(reports.map { .object($0.json) }) : .object(reports[0].json)
            ToolOutput.out(json.pretty + "\n")
        }
        return 0
    }
}
