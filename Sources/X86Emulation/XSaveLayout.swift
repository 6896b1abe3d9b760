import GuestMemory
import KVM

/// Where each state component lives in the standard (non-compacted) XSAVE area (SDM Vol. 1 §13.4).
/// Components 0 (x87) and 1 (SSE) share the 512-byte legacy region (the FXSAVE layout); the 64-byte
/// XSAVE header follows at byte 512; component i ≥ 2 sits at the offset CPUID.(EAX=0DH, ECX=i):EBX
/// gives, EAX bytes long. KVM_GET_XSAVE lays the vCPU's state out the same way.
public struct XSaveLayout: Equatable, Sendable {
    public struct Component: Equatable, Sendable {
        public var offset: Int
        public var size: Int

        public init(offset: Int, size: Int) {
            self.offset = offset
            self.size = size
        }
    }

    /// Components 2 and up, by state-component index.
    public var extended: [Int: Component]

    public static let legacyRegionSize = 512
    public static let headerOffset = 512
    public static let headerSize = 64
    /// KVM_GET_XSAVE's area; a component that does not fit is left out.
    public static let maximumAreaSize = 4096

    /// State component 0 (x87) in the legacy region: FCW…FDP, then ST0–ST7 (MXCSR sits between them).
    static let x87Ranges = [0..<24, 32..<160]
    /// MXCSR and MXCSR_MASK: saved and loaded with component 1 or 2 (SDM Vol. 1 §13.7, §13.8).
    static let mxcsrRange = 24..<32
    /// State component 1 (SSE): XMM0–XMM15.
    static let sseRange = 160..<416
    /// XSTATE_BV: which components the area holds (bit i: component i is not in its initial state).
    static let stateBVOffset = headerOffset
    /// XCOMP_BV and the next 8 bytes of the header: zero in a standard-form area.
    static let headerReservedRange = (headerOffset + 8)..<(headerOffset + 24)

    /// x87 and SSE only: what a host without CPUID leaf 0xD offers.
    public static let legacyOnly = XSaveLayout(extended: [:])

    public init(extended: [Int: Component]) {
        self.extended = extended
    }

    /// The layout CPUID leaf 0xD describes: subleaf 0 names the user state components (EDX:EAX), subleaf i
    /// gives component i's size (EAX) and offset (EBX). Supervisor components (offset 0 in the standard
    /// form) and components outside the 4 KiB area are left out.
    public init(cpuid: [CPUIDEntry]) {
        func leaf(_ index: UInt32) -> CPUIDEntry? {
            cpuid.first { $0.function == 0xD && $0.index == index }
        }
        guard let summary = leaf(0) else {
            self = .legacyOnly
            return
        }
        let userComponents = UInt64(summary.edx) << 32 | UInt64(summary.eax)
        var extended: [Int: Component] = [:]
        for index in 2..<63 where userComponents & (1 << UInt64(index)) != 0 {
            guard let entry = leaf(UInt32(index)) else { continue }
            let component = Component(offset: Int(entry.ebx), size: Int(entry.eax))
            guard component.size > 0, component.offset >= Self.headerOffset + Self.headerSize,
                component.offset + component.size <= Self.maximumAreaSize
            else { continue }
            extended[index] = component
        }
        self.extended = extended
    }

    /// x87, SSE and every extended component of this layout, as a bitmap.
    var components: UInt64 {
        extended.keys.reduce(UInt64(0b11)) { $0 | 1 << UInt64($1) }
    }

    /// The byte ranges of component `index` in the area (MXCSR is handled on its own).
    func ranges(of index: Int) -> [Range<Int>] {
        switch index {
        case 0: return Self.x87Ranges
        case 1: return [Self.sseRange]
        default:
            guard let component = extended[index] else { return [] }
            return [component.offset..<component.offset + component.size]
        }
    }

    /// Bytes from the start of the area to the end of the last component in `components` (at least the
    /// legacy region and header).
    func span(of components: UInt64) -> Int {
        extended.reduce(Self.headerOffset + Self.headerSize) { end, element in
            components & (1 << UInt64(element.key)) != 0 ? max(end, element.value.offset + element.value.size) : end
        }
    }
}
