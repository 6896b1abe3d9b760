import KVM

/// Local APIC wiring a PC firmware leaves behind: LINT0 as ExtINT (the 8259 PIC's output) and LINT1
/// as NMI (Intel SDM vol. 3 §11.5.1, "virtual wire" mode).
enum LocalAPICSetup {
    static let lvtLINT0Offset = 0x350
    static let lvtLINT1Offset = 0x360
    static let deliveryModeExtINT: UInt32 = 0b111 << 8
    static let deliveryModeNMI: UInt32 = 0b100 << 8
    static let deliveryModeMask: UInt32 = 0b111 << 8

    static func configureLINTs(_ vcpu: VCPU) throws {
        var registers = try vcpu.localAPIC()
        update(&registers, at: lvtLINT0Offset, mode: deliveryModeExtINT)
        update(&registers, at: lvtLINT1Offset, mode: deliveryModeNMI)
        try vcpu.setLocalAPIC(registers)
    }

    static func update(_ registers: inout [UInt8], at offset: Int, mode: UInt32) {
        guard offset + 4 <= registers.count else { return }
        var value =
            UInt32(registers[offset]) | UInt32(registers[offset + 1]) << 8
            | UInt32(registers[offset + 2]) << 16 | UInt32(registers[offset + 3]) << 24
        value = (value & ~deliveryModeMask) | mode
        for byte in 0..<4 { registers[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
    }
}
