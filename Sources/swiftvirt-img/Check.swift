import ArgumentParser
import DiskImage

/// `check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-U] filename`. Exit status as qemu-img's:
/// 0 clean, 1 check not completed, 2 corruptions, 3 leaks, 63 format without checks.
struct Check: ImageCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an image's metadata; with -r, repair leaks or all errors.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Image format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(name: .customLong("output"), help: ArgumentHelp("human or json.", valueName: "ofmt"))
    var output: String?

    @Option(
        name: .customShort("r", allowingJoined: true),
        help: ArgumentHelp("Repair: leaks or all.", valueName: "leaks | all"))
    var repair: String?

    @Option(
        name: .customShort("T", allowingJoined: true),
        help: ArgumentHelp("Source cache mode (accepted, ignored).", valueName: "src_cache"))
    var cache: String?

    @OptionGroup var forceShare: ForceShareOption

    @Flag(name: .customShort("q"), help: "Quiet.")
    var quiet = false

    @Argument(help: "filename")
    var files: [String] = []

    mutating func execute() throws(ToolError) -> Int32 {
        let mode: Qcow2RepairMode
        switch repair {
        case nil: mode = .none
        case "leaks": mode = .leaks
        case "all": mode = .all
        case .some(let value):
            throw ToolError.usage("Unknown option value for -r (expecting 'leaks' or 'all'): \(value)")
        }
        let outputFormat = try OutputFormat.parse(output)
        guard files.count == 1, let path = files.first else { throw ToolError.usage("Expecting one image file name") }

        let imageFormat = try ImageOpener.format(of: path, formatName: format)
        guard imageFormat == .qcow2 else {
            _ = try ImageOpener.open(path, formatName: format, readOnly: mode == .none, forceShare: forceShare.enabled)
            throw ToolError("This image format does not support checks", exitCode: 63)
        }
        let image = try ImageOpener.openQcow2(
            path, readOnly: mode == .none, allowCorrupt: mode != .none, forceShare: forceShare.enabled)
        defer { try? image.close() }

        // qemu-img reports what a read-only pass finds before repairing, then what the repair did.
        var report = try runCheck(image, .none)
        if mode != .none {
            let found = Set(report.messages)
            report = try runCheck(image, mode, skipping: found)
            if report.messages.contains(Self.rebuildNeeded) {
                // QEMU gives up with EIO here and prints no report.
                throw ToolError("Check failed: Input/output error")
            }
        }
        if report.leaksFixed > 0 || report.corruptionsFixed > 0 {
            if outputFormat == .human && !quiet {
                ToolOutput.out(
                    """
                    The following inconsistencies were found and repaired:

                        \(report.leaksFixed) leaked clusters
                        \(report.corruptionsFixed) corruptions

                    Double checking the fixed image now...

                    """)
            }
            let fixed = (report.leaksFixed, report.corruptionsFixed)
            report = try runCheck(image, .none)
            (report.leaksFixed, report.corruptionsFixed) = fixed
        }
        if !quiet {
            switch outputFormat {
            case .human: ToolOutput.out(CheckReportText.human(report))
            case .json: ToolOutput.out(CheckReportText.json(report, path: path).pretty + "\n")
            }
        }
        if report.checkErrors > 0 { throw ToolError("Check failed") }
        if report.corruptions > 0 { return 2 }
        if report.leaks > 0 { return 3 }
        return 0
    }

    /// The library's finding when -r leaks meets a broken refcount structure.
    private static let rebuildNeeded = "ERROR need to rebuild refcount structures"

    /// One pass; its findings (except those already printed) go to stderr, as QEMU prints them during
    /// the check.
    private func runCheck(
        _ image: Qcow2Image, _ mode: Qcow2RepairMode, skipping printed: Set<String> = []
    ) throws(ToolError) -> Qcow2CheckReport {
        let report: Qcow2CheckReport
        do {
            report = try image.check(repair: mode)
        } catch {
            throw ToolError("Check failed: \(ImageOpener.describe(error))")
        }
        for message in report.messages where !printed.contains(message) { ToolOutput.errorLine(message) }
        return report
    }
}

/// qemu-img check's two report formats.
enum CheckReportText {
    /// dump_human_image_check.
    static func human(_ report: Qcow2CheckReport) -> String {
        var text = ""
        if report.corruptions == 0 && report.leaks == 0 && report.checkErrors == 0 {
            text += "No errors were found on the image.\n"
        } else {
            if report.corruptions > 0 {
                text += "\n\(report.corruptions) errors were found on the image.\n"
                text += "Data may be corrupted, or further writes to the image may corrupt it.\n"
            }
            if report.leaks > 0 {
                text += "\n\(report.leaks) leaked clusters were found on the image.\n"
                text += "This means waste of disk space, but no harm to data.\n"
            }
            if report.checkErrors > 0 {
                text += "\n\(report.checkErrors) internal errors have occurred during the check.\n"
            }
        }
        if report.totalClusters > 0 && report.allocatedClusters > 0 {
            let allocated = Double(report.allocatedClusters)
            text += "\(report.allocatedClusters)/\(report.totalClusters) = "
            text += cFormat("%0.2f", allocated * 100 / Double(report.totalClusters)) + "% allocated, "
            text += cFormat("%0.2f", Double(report.fragmentedClusters) * 100 / allocated) + "% fragmented, "
            text += cFormat("%0.2f", Double(report.compressedClusters) * 100 / allocated) + "% compressed clusters\n"
        }
        if report.imageEndOffset > 0 { text += "Image end offset: \(report.imageEndOffset)\n" }
        return text
    }

    /// ImageCheck: counters only when non-zero, as collect_image_check sets them.
    static func json(_ report: Qcow2CheckReport, path: String) -> QemuJSON {
        var object = QemuJSONObject()
        object.set("filename", .string(path))
        object.set("format", .string("qcow2"))
        object.set("check-errors", .integer(Int64(report.checkErrors)))
        func optional(_ key: String, _ value: UInt64) {
            if value != 0 { object.set(key, .unsigned(value)) }
        }
        optional("image-end-offset", report.imageEndOffset)
        optional("corruptions", UInt64(report.corruptions))
        optional("leaks", UInt64(report.leaks))
        optional("corruptions-fixed", UInt64(report.corruptionsFixed))
        optional("leaks-fixed", UInt64(report.leaksFixed))
        optional("total-clusters", report.totalClusters)
        optional("allocated-clusters", report.allocatedClusters)
        optional("fragmented-clusters", report.fragmentedClusters)
        optional("compressed-clusters", report.compressedClusters)
        return .object(object)
    }
}
