import ArgumentParser
import VMM

/// `--disk path=IMAGE[,format=raw|qcow2][,readonly=on|off][,direct=on|off][,serial=ID]`, or just `--disk IMAGE`.
enum DiskOption {
    static func parse(_ argument: String) throws -> MachineConfig.Disk {
        if !argument.contains("=") && !argument.isEmpty {
            return MachineConfig.Disk(path: argument)
        }
        let option = try KeyValueOption(argument, option: "--disk")
        var disk = MachineConfig.Disk(path: "")
        for (key, value) in option.pairs {
            switch key {
            case "path": disk.path = value
            case "readonly": disk.readOnly = try option.flag(value, key: key)
            case "direct": disk.direct = try option.flag(value, key: key)
            case "serial": disk.serial = value
            case "format": disk.format = value
            default: throw option.unknown(key, known: "path, format, readonly, direct, serial")
            }
        }
        guard !disk.path.isEmpty else { throw ValidationError("--disk needs path=IMAGE") }
        return disk
    }
}
