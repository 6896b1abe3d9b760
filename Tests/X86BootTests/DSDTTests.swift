import Foundation
import GuestMemory
import Testing

@testable import X86Boot

@Suite struct DSDTTests {
    @Test func packageLengthCountsItself() {
        #expect(AML.packageLength(0) == [0x01])
        #expect(AML.packageLength(62) == [0x3F])
        // 63 bytes of content need two length bytes: total 65 = 0x41.
        #expect(AML.packageLength(63) == [0x41, 0x04])
        #expect(AML.packageLength(0x0FFD) == [0x4F, 0xFF])
        #expect(AML.packageLength(0x0FFE) == [0x81, 0x00, 0x01])
    }

    @Test func eisaIDAndIntegers() {
        #expect(AML.eisaID("PNP0A03") == [0x0C, 0x41, 0xD0, 0x0A, 0x03])
        #expect(AML.integer(0) == [0x00])
        #expect(AML.integer(1) == [0x01])
        #expect(AML.integer(0x54) == [0x0A, 0x54])
        #expect(AML.integer(0x1234) == [0x0C, 0x34, 0x12, 0x00, 0x00])
    }

    @Test func withoutPCIOnlyTheS5ObjectIsThere() {
        #expect(Array(DSDT.table()[36...]) == DSDT.s5Object)
    }

    /// The table Linux would get, disassembled by ACPICA's own `iasl` (acpica-tools; scripts/setup.sh
    /// installs it): its checksum, its AML grammar and the resources it declares.
    @Test func iaslReadsThePCIRootBridge() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dsdt-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let table = directory.appendingPathComponent("dsdt.dat")
        try Data(DSDT.table(pciMemoryWindow: .standard)).write(to: table)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/iasl")
        process.arguments = ["-d", table.path]
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let source = try String(contentsOf: directory.appendingPathComponent("dsdt.dsl"), encoding: .utf8)
        let compact = source.replacingOccurrences(of: " ", with: "")
        #expect(!source.contains("Invalid") && !source.contains("Incorrect checksum"), "\(source)")
        #expect(compact.contains("Name(_S5,Package(0x04)"))
        #expect(compact.contains("Scope(\\_SB)"))
        #expect(compact.contains("Device(PCI0)"))
        #expect(compact.contains("Name(_HID,EisaId(\"PNP0A03\")/*PCIBus*/)"))
        #expect(compact.contains("Name(_SEG,Zero)") && compact.contains("Name(_BBN,Zero)"))
        #expect(compact.contains("WordBusNumber(ResourceProducer,MinFixed,MaxFixed,"))
        #expect(compact.contains("IO(Decode16,\n0x0CF8,//RangeMinimum\n0x0CF8,//RangeMaximum"))
        #expect(compact.contains("WordIO(ResourceProducer,MinFixed,MaxFixed,PosDecode,EntireRange,"))
        #expect(compact.contains("0x0CF7,//RangeMaximum") && compact.contains("0x0D00,//RangeMinimum"))
        #expect(compact.contains("DWordMemory(ResourceProducer,PosDecode,MinFixed,MaxFixed,NonCacheable,ReadWrite,"))
        #expect(compact.contains("0xC0000000,//RangeMinimum") && compact.contains("0xCFFFFFFF,//RangeMaximum"))
        #expect(compact.contains("0x10000000,//Length"))
    }
}
