import ArgumentParser
import DiskImage

/// `snapshot [-U] [-q] [-l | -a snapshot | -c snapshot | -d snapshot] filename`: internal snapshots
/// (QEMU's img_snapshot). -a takes an ID or a name; -d takes a name, as in qemu-img.
struct Snapshot: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "List, create, apply or delete internal snapshots.")

    @Flag(name: .customShort("l"), help: "List the snapshots.")
    var list: Int

    @Option(
        name: .customShort("a", allowingJoined: true),
        help: ArgumentHelp("Revert the disk to this snapshot (ID or name).", valueName: "snapshot"))
    var apply: [String] = []

    @Option(
        name: .customShort("c", allowingJoined: true),
        help: ArgumentHelp("Create a snapshot with this name.", valueName: "snapshot"))
    var create: [String] = []

    @Option(
        name: .customShort("d", allowingJoined: true),
        help: ArgumentHelp("Delete the snapshot with this name.", valueName: "snapshot"))
    var delete: [String] = []

    @Flag(name: .customShort("q"), help: "Quiet.")
    var quiet = false

    @OptionGroup var forceShare: ForceShareOption

    @Argument(help: "filename")
    var files: [String] = []

    /// QEMU keeps snapshot names in a 256-byte buffer.
    static let maximumNameBytes = 255

    mutating func execute() throws(ToolError) -> Int32 {
        if list + apply.count + create.count + delete.count > 1 {
            throw ToolError.usage("Cannot mix '-l', '-a', '-c', '-d'")
        }
        guard files.count == 1, let path = files.first else { throw ToolError.usage("Expecting one image file name") }
        let listing = list == 1 || (apply.isEmpty && create.isEmpty && delete.isEmpty)
        let image = try ImageOpener.open(path, formatName: nil, readOnly: listing, forceShare: forceShare.enabled)
        let qcow2 = image as? Qcow2Image
        defer { try? qcow2?.close() }

        if let name = create.first {
            guard let qcow2 else {
                throw ToolError("Could not create snapshot '\(name)': -95 (Operation not supported)")
            }
            let truncated = Self.truncated(name)
            if qcow2.snapshotList.contains(where: { $0.name == truncated }) {
                // qemu-img would add a second snapshot of that name; the library keeps names unique.
                throw ToolError("Could not create snapshot '\(name)': a snapshot with this name already exists")
            }
            do {
                try qcow2.createSnapshot(name: truncated)
            } catch {
                let code = Self.errorNumber(error)
                throw ToolError(
                    "Could not create snapshot '\(name)': -\(code) (\(ImageOpener.errnoText(code)))")
            }
        } else if let name = apply.first {
            guard let qcow2 else {
                throw ToolError("Could not apply snapshot '\(name)': Block driver does not support snapshots")
            }
            guard qcow2.snapshotList.contains(where: { $0.id == name || $0.name == name }) else {
                throw ToolError(
                    "Could not apply snapshot '\(name)': Failed to load snapshot: No such file or directory")
            }
            do {
                try qcow2.applySnapshot(name)
            } catch {
                throw ToolError("Could not apply snapshot '\(name)': \(ImageOpener.describe(error))")
            }
        } else if let name = delete.first {
            guard let qcow2, let snapshot = qcow2.snapshotList.first(where: { $0.name == name }) else {
                throw ToolError("Could not delete snapshot '\(name)': snapshot not found")
            }
            do {
                try qcow2.deleteSnapshot(snapshot.id)
            } catch {
                throw ToolError("Could not delete snapshot '\(name)': \(ImageOpener.describe(error))")
            }
        } else if list == 1, let qcow2, !qcow2.snapshotList.isEmpty {
            var text = "Snapshot list:\n" + SnapshotTable.header + "\n"
            for snapshot in qcow2.snapshotList { text += SnapshotTable.row(snapshot) + "\n" }
            ToolOutput.out(text)
        }
        do {
            try qcow2?.close()
        } catch {
            throw ToolError("Could not close '\(path)': \(ImageOpener.describe(error))")
        }
        return 0
    }

    /// The name cut to QEMU's limit at a character boundary.
    private static func truncated(_ name: String) -> String {
        var result = ""
        for character in name {
            guard result.utf8.count + String(character).utf8.count <= maximumNameBytes else { break }
            result.append(character)
        }
        return result
    }

    /// The errno QEMU would report for a failed snapshot creation.
    private static func errorNumber(_ error: DiskImageError) -> Int32 {
        switch error {
        case .io(_, _, _, let code), .open(_, let code): return code
        case .readOnly: return 30
        case .notSupported: return 95
        case .invalidArgument: return 22
        default: return 5
        }
    }
}
