import ArgumentParser
import DiskImage

/// `create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]`
struct Create: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Create a new raw or qcow2 image.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Image format (raw or qcow2; default raw).", valueName: "fmt"))
    var format = "raw"

    @Option(
        name: .customShort("b", allowingJoined: true), help: ArgumentHelp("Backing file.", valueName: "backing_file"))
    var backingFile: String?

    @Option(
        name: .customShort("F", allowingJoined: true),
        help: ArgumentHelp("Backing file format.", valueName: "backing_fmt"))
    var backingFormat: String?

    @Flag(name: .customShort("u"), help: "Do not open the backing file (its format and the size must be given).")
    var unsafe = false

    @Option(
        name: .customShort("o", allowingJoined: true),
        help: ArgumentHelp("Format options (name=value,...; -o help lists them).", valueName: "options"))
    var options: [String] = []

    @Flag(name: .customShort("q"), help: "Quiet.")
    var quiet = false

    @Argument(help: "filename [size]")
    var arguments: [String] = []

    mutating func execute() throws(ToolError) -> Int32 {
        let optionList = try OptionList(options)
        if optionList.wantsHelp {
            ToolOutput.out(ImageOptionDescriptor.helpText(for: try ImageFormatName.forCreating(format)))
            return 0
        }
        guard let path = arguments.first else { throw ToolError.usage("Expecting image file name") }
        var size: UInt64?
        if arguments.count > 1 { size = try SizeParser.argument("image size", arguments[1]) }
        if arguments.count > 2 { throw ToolError.usage("Unexpected argument: \(arguments[2])") }
        let imageFormat: DiskImageFormat
        do {
            imageFormat = try ImageFormatName.forCreating(format)
        } catch {
            throw error.prefixed(path)
        }
        let creation = ImageCreation(
            path: path, format: imageFormat, options: optionList, size: size, backingFile: backingFile,
            backingFormat: backingFormat, opensBacking: !unsafe, printsFormatting: !quiet)
        do {
            try creation.run()
        } catch {
            throw error.prefixed(path)
        }
        return 0
    }
}
