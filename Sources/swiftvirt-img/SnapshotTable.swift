import DiskImage

#if canImport(Glibc)
    import Glibc
#endif

/// Internal snapshots as qemu-img lists them (QEMU's bdrv_snapshot_dump and SnapshotInfo).
enum SnapshotTable {
    static let header =
        padRight("ID", 10) + padRight("TAG", 17) + padLeft("VM SIZE", 8) + padLeft("DATE", 20)
        + padLeft("VM CLOCK", 13) + padLeft("ICOUNT", 11)

    /// One row: ID, tag, VM state size, local date, VM clock, instruction count.
    static func row(_ snapshot: Qcow2SnapshotInfo) -> String {
        var seconds = time_t(snapshot.dateSeconds)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        let date = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let clock = snapshot.vmClockNanoseconds
        let totalSeconds = clock / 1_000_000_000
        let clockText =
            twoDigits(totalSeconds / 3600) + ":" + twoDigits((totalSeconds / 60) % 60) + ":"
            + twoDigits(totalSeconds % 60) + "." + threeDigits((clock / 1_000_000) % 1000)
        let icount = snapshot.instructionCount.map(String.init) ?? ""
        return padRight(snapshot.id, 9) + " " + padRight(snapshot.name, 16) + " "
            + padLeft(HumanSize.string(snapshot.vmStateSize), 8) + padLeft(date, 20) + padLeft(clockText, 13)
            + padLeft(icount, 11)
    }

    /// SnapshotInfo's members in QAPI order.
    static func json(_ snapshot: Qcow2SnapshotInfo) -> QemuJSONObject {
        var object = QemuJSONObject()
        object.set("id", .string(snapshot.id))
        object.set("name", .string(snapshot.name))
        object.set("vm-state-size", .unsigned(snapshot.vmStateSize))
        object.set("date-sec", .integer(Int64(snapshot.dateSeconds)))
        object.set("date-nsec", .integer(Int64(snapshot.dateNanoseconds)))
        object.set("vm-clock-sec", .unsigned(snapshot.vmClockNanoseconds / 1_000_000_000))
        object.set("vm-clock-nsec", .unsigned(snapshot.vmClockNanoseconds % 1_000_000_000))
        if let icount = snapshot.instructionCount { object.set("icount", .unsigned(icount)) }
        return object
    }

    private static func twoDigits(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
    private static func threeDigits(_ value: UInt64) -> String {
        String(repeating: "0", count: max(0, 3 - String(value).count)) + String(value)
    }

    static func padRight(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    static func padLeft(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
