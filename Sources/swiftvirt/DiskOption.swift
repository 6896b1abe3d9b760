import ArgumentParser
import VMM

/// `--disk path=IMAGE[,readonly=on|off][,direct=on|off][,serial=ID]`, or just `--disk IMAGE`.
enum DiskOption {
    static func parse(_ argument: String) throws -> MachineConfig.Disk {
        let fields = argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !fields.isEmpty else { throw ValidationError("--disk needs a path") }
        if fields.count == 1 && !fields[0].contains("=") {
            return MachineConfig.Disk(path: fields[0])
        }
        var disk = MachineConfig.Disk(path: "")
        for field in fields {
            let pair = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw ValidationError("--disk: expected key=value, got '\(field)'") }
            switch pair[0] {
            case "path": disk.path = pair[1]
            case "readonly": disk.readOnly = try flag(pair[1], key: "readonly")
            case "direct": disk.direct = try flag(pair[1], key: "direct")
            case "serial": disk.serial = pair[1]
            default: throw ValidationError("--disk: unknown key '\(pair[0])' (path, readonly, direct, serial)")
            }
        }
        guard !disk.path.isEmpty else { throw ValidationError("--disk needs path=IMAGE") }
        return disk
    }

    static func flag(_ value: String, key: String) throws -> Bool {
        switch value {
        case "on", "yes", "true", "1": return true
        case "off", "no", "false", "0": return false
        default: throw ValidationError("--disk: \(key) must be on or off, got '\(value)'")
        }
    }
}
