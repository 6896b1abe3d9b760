import LibvirtProtocol
import Testing

@testable import Management

@Suite("RuntimeRecord and /proc parsing: hostile files never trap")
struct RuntimeRecordTests {
    static let uuid = DomainUUID(string: "6f0b1b6e-3c57-4d0c-9a38-2d9b8f6c1e01")!

    static let record = RuntimeRecord(
        name: "web = 1", uuid: uuid, pid: 4242, id: 7, startedAt: 1_700_000_000, processStartTicks: 123_456,
        bootID: "2b6a3c7e-0000-4000-8000-000000000001")

    @Test("encodes and decodes")
    func roundTrip() throws {
        #expect(try RuntimeRecord(decoding: Self.record.encoded()) == Self.record)
    }

    @Test(
        "rejects what is not a record",
        arguments: [
            ("", RuntimeRecord.DecodingError.missingField("swiftvirt-runtime")),
            ("swiftvirt-runtime=2\n", .unsupportedVersion("2")),
            ("swiftvirt-runtime=1\nname=x\n", .missingField("uuid")),
        ])
    func rejects(text: String, expected: RuntimeRecord.DecodingError) {
        #expect(throws: expected) { try RuntimeRecord(decoding: Array(text.utf8)) }
    }

    @Test("rejects bad numbers, pid 0 and 1, id 0, and oversized files")
    func rejectsFields() {
        func replacing(_ key: String, with value: String) -> [UInt8] {
            let text = String(decoding: Self.record.encoded(), as: UTF8.self)
            let lines = text.split(separator: "\n").map { $0.hasPrefix(key + "=") ? key + "=" + value : String($0) }
            return Array(lines.joined(separator: "\n").utf8)
        }
        for (key, value) in [
            ("pid", "1"), ("pid", "0"), ("pid", "-5"), ("pid", "99999999999"), ("id", "0"), ("uuid", "nope"),
            ("process-start-ticks", "x"), ("started", ""),
        ] {
            #expect(throws: RuntimeRecord.DecodingError.self, "\(key)=\(value)") {
                try RuntimeRecord(decoding: replacing(key, with: value))
            }
        }
        #expect(throws: RuntimeRecord.DecodingError.tooLarge(5000)) {
            try RuntimeRecord(decoding: [UInt8](repeating: 0x41, count: 5000))
        }
    }

    @Test("/proc/PID/stat: the command name may hold spaces and parentheses")
    func processStat() throws {
        let fields = (4...52).map(String.init).joined(separator: " ")
        // Fields 14 and 15 are 14 and 15 here, field 22 is 22.
        let stat = try #require(ProcessStat(line: "77 (a) b (c)) S " + fields))
        #expect(stat.state == "S")
        #expect(stat.cpuTicks == 29)
        #expect(stat.startTicks == 22)
        #expect(ProcessStat(line: "77 (short) S 1 2") == nil)
        #expect(ProcessStat(line: "no parenthesis") == nil)
    }

    @Test("wait(2) status words")
    func exitStatus() {
        #expect(ProcessExitStatus(waitStatus: 0) == .exited(0))
        #expect(ProcessExitStatus(waitStatus: 3 << 8) == .exited(3))
        #expect(ProcessExitStatus(waitStatus: 9) == .signaled(9))
    }
}
