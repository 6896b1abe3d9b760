import DiskImage

/// Format names from -f, -O, -F and backing_fmt: raw and qcow2 are implemented; QEMU's other format
/// drivers are known by name so the error can say they are not supported here rather than unknown.
enum ImageFormatName {
    private static let otherQemuFormats: Set<String> = [
        "bochs", "cloop", "dmg", "luks", "parallels", "qcow", "qed", "vdi", "vhdx", "vmdk", "vpc", "vvfat",
    ]

    /// For opening: "Unknown driver 'x'" as qemu-img says it.
    static func forOpening(_ name: String?) throws(ToolError) -> DiskImageFormat? {
        guard let name else { return nil }
        if let format = DiskImageFormat(rawValue: name) { return format }
        if otherQemuFormats.contains(name) {
            throw ToolError("Format '\(name)' is not supported by \(ToolOutput.toolName) (only raw and qcow2)")
        }
        throw ToolError("Unknown driver '\(name)'")
    }

    /// For creating: "Unknown file format 'x'".
    static func forCreating(_ name: String) throws(ToolError) -> DiskImageFormat {
        if let format = DiskImageFormat(rawValue: name) { return format }
        if otherQemuFormats.contains(name) {
            throw ToolError("Format '\(name)' is not supported by \(ToolOutput.toolName) (only raw and qcow2)")
        }
        throw ToolError("Unknown file format '\(name)'")
    }
}
