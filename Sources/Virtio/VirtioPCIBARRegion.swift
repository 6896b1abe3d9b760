import Devices

/// BAR 0 of a `VirtioPCIFunction` as the MMIO bus sees it (offsets from `barAddress`).
final class VirtioPCIBARRegion: BusDevice {
    let function: VirtioPCIFunction

    init(function: VirtioPCIFunction) {
        self.function = function
    }

    func read(offset: UInt64, size: Int) -> UInt64 {
        function.readBARRegion(offset: offset, size: size)
    }

    func write(offset: UInt64, size: Int, value: UInt64) {
        function.writeBARRegion(offset: offset, size: size, value: value)
    }
}
