import LibvirtProtocol

/// What the daemon writes next to a running VMM's pid file so a later daemon can re-adopt it: which
/// domain it runs, under which id, and enough to tell that the pid still names the same process in
/// the same boot of the host. Stored as `key=value` lines under a version line; the file is small,
/// read with a size cap, and anything unexpected in it makes the record invalid, never a crash.
struct RuntimeRecord: Hashable, Sendable {
    static let formatVersion = 1
    /// Files larger than this are not records.
    static let maxFileSize = 4096

    var name: String
    var uuid: DomainUUID
    var pid: Int32
    /// The libvirt domain id.
    var id: Int32
    /// When the domain started, seconds since the epoch.
    var startedAt: Int64
    /// The process's start time in clock ticks after boot (/proc/PID/stat field 22).
    var processStartTicks: UInt64
    /// /proc/sys/kernel/random/boot_id when the VMM started.
    var bootID: String

    func encoded() -> [UInt8] {
        let lines = [
            "swiftvirt-runtime=\(Self.formatVersion)",
            "name=\(name)",
            "uuid=\(uuid)",
            "pid=\(pid)",
            "id=\(id)",
            "started=\(startedAt)",
            "process-start-ticks=\(processStartTicks)",
            "boot-id=\(bootID)",
        ]
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// Why a record file cannot be used.
    enum DecodingError: Error, Hashable, Sendable, CustomStringConvertible {
        case tooLarge(Int)
        case unsupportedVersion(String)
        case missingField(String)
        case invalidField(String, String)

        var description: String {
            switch self {
            case .tooLarge(let size): return "runtime record is \(size) bytes, more than \(RuntimeRecord.maxFileSize)"
            case .unsupportedVersion(let version): return "runtime record version '\(version)' is not supported"
            case .missingField(let key): return "runtime record has no '\(key)'"
            case .invalidField(let key, let value): return "runtime record has an invalid '\(key)': '\(value)'"
            }
        }
    }

    init(
        name: String, uuid: DomainUUID, pid: Int32, id: Int32, startedAt: Int64, processStartTicks: UInt64,
        bootID: String
    ) {
        self.name = name
        self.uuid = uuid
        self.pid = pid
        self.id = id
        self.startedAt = startedAt
        self.processStartTicks = processStartTicks
        self.bootID = bootID
    }

    init(decoding bytes: [UInt8]) throws(DecodingError) {
        guard bytes.count <= Self.maxFileSize else { throw .tooLarge(bytes.count) }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        func field(_ key: String) throws(DecodingError) -> String {
            guard let value = fields[key] else { throw .missingField(key) }
            return value
        }
        func number<T: FixedWidthInteger>(_ key: String, _ type: T.Type) throws(DecodingError) -> T {
            let text = try field(key)
            guard let value = T(text) else { throw .invalidField(key, text) }
            return value
        }
        let version = try field("swiftvirt-runtime")
        guard version == String(Self.formatVersion) else { throw .unsupportedVersion(version) }
        name = try field("name")
        let uuidText = try field("uuid")
        guard let uuid = DomainUUID(string: uuidText) else { throw .invalidField("uuid", uuidText) }
        self.uuid = uuid
        pid = try number("pid", Int32.self)
        guard pid > 1 else { throw .invalidField("pid", String(pid)) }
        id = try number("id", Int32.self)
        guard id > 0 else { throw .invalidField("id", String(id)) }
        startedAt = try number("started", Int64.self)
        processStartTicks = try number("process-start-ticks", UInt64.self)
        bootID = try field("boot-id")
    }
}
