import ArgumentParser
import VMM

/// `--net tap=NAME[,mac=52:54:00:12:34:56][,mtu=1500]` or `--net fd=N[,...]`.
enum NetworkOption {
    static func parse(_ argument: String) throws -> MachineConfig.Network {
        let option = try KeyValueOption(argument, option: "--net")
        var tap: MachineConfig.Network.Tap?
        var network = MachineConfig.Network(tap: .named(""))
        for (key, value) in option.pairs {
            switch key {
            case "tap": tap = .named(value)
            case "fd": tap = .fileDescriptor(try option.number(value, key: key, as: Int32.self))
            case "mac":
                let octets = value.split(separator: ":", omittingEmptySubsequences: false).compactMap {
                    $0.count == 2 ? UInt8($0, radix: 16) : nil
                }
                guard octets.count == 6 else {
                    throw ValidationError("--net: mac must look like 52:54:00:12:34:56, got '\(value)'")
                }
                network.mac = octets
            case "mtu": network.mtu = try option.number(value, key: key, as: UInt16.self)
            default: throw option.unknown(key, known: "tap, fd, mac, mtu")
            }
        }
        guard let tap else { throw ValidationError("--net needs tap=NAME or fd=N") }
        network.tap = tap
        return network
    }
}

/// `--vsock cid=N,uds=PATH`.
enum VsockOption {
    static func parse(_ argument: String) throws -> MachineConfig.Vsock {
        let option = try KeyValueOption(argument, option: "--vsock")
        var cid: UInt64?
        var path: String?
        for (key, value) in option.pairs {
            switch key {
            case "cid": cid = try option.number(value, key: key, as: UInt64.self)
            case "uds": path = value
            default: throw option.unknown(key, known: "cid, uds")
            }
        }
        guard let cid, let path else { throw ValidationError("--vsock needs cid=N,uds=PATH") }
        return MachineConfig.Vsock(guestCID: cid, socketPath: path)
    }
}

/// `--virtio-console socket=PATH`.
enum VirtioConsoleOption {
    static func parse(_ argument: String) throws -> MachineConfig.VirtioConsole {
        let option = try KeyValueOption(argument, option: "--virtio-console")
        var path: String?
        for (key, value) in option.pairs {
            switch key {
            case "socket": path = value
            default: throw option.unknown(key, known: "socket")
            }
        }
        guard let path, !path.isEmpty else { throw ValidationError("--virtio-console needs socket=PATH") }
        return MachineConfig.VirtioConsole(socketPath: path)
    }
}
