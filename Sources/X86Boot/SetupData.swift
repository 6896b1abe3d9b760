import GuestMemory

/// One `struct setup_data` node (arch/x86/include/uapi/asm/bootparam.h; boot.rst "setup_data", protocol
/// 2.09+): `u64 next; u32 type; u32 len; u8 data[len]`, linked from boot_params.hdr.setup_data.
struct SetupData: Equatable {
    /// SETUP_RNG_SEED: bytes the kernel mixes into its random pool at boot (credited as entropy when it
    /// trusts the boot loader, CONFIG_RANDOM_TRUST_BOOTLOADER or random.trust_bootloader=on) and then
    /// wipes from memory.
    static let rngSeedType: UInt32 = 9
    static let headerSize = 16
    /// The largest seed we pass: Linux reads at most 32 bytes' worth of credit anyway.
    static let maximumSeedLength = 256

    let type: UInt32
    let payload: [UInt8]

    static func rngSeed(_ seed: [UInt8]) -> SetupData {
        SetupData(type: rngSeedType, payload: Array(seed.prefix(maximumSeedLength)))
    }

    /// The node as the last of its list (next = 0).
    var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.headerSize + payload.count)
        bytes.put(UInt64(0), at: 0)
        bytes.put(type, at: 8)
        bytes.put(UInt32(payload.count), at: 12)
        bytes.put(bytes: payload[...], at: Self.headerSize)
        return bytes
    }
}
