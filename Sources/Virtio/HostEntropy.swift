#if canImport(Glibc)
    import Glibc
#endif

/// Random bytes from the host kernel's CSPRNG through getrandom(2) (flags 0: the urandom source, which
/// blocks only before the pool is first initialized at boot). The only file asking the host for entropy.
public enum HostEntropy {
    /// getrandom(2)'s C signature. Glibc declares it in sys/random.h, which Swift's Glibc module does not
    /// include, so it is looked up by name once (dlsym with RTLD_DEFAULT, a null handle).
    private typealias GetRandom = @convention(c) (UnsafeMutableRawPointer?, Int, UInt32) -> Int
    private static let getRandomAddress = Int(bitPattern: dlsym(nil, "getrandom"))
    /// Calls per fill: each returns at least 256 bytes unless interrupted, so this bounds the loop
    /// without cutting a 64 KiB fill short.
    private static let maximumCalls = 1024

    /// `count` random bytes, or fewer if the host refused (see `fill`).
    public static func bytes(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(count, 0))
        let filled = bytes.withUnsafeMutableBytes { fill($0) }
        return Array(bytes.prefix(filled))
    }

    /// Fills `buffer` from the start; returns how many bytes were filled (all of them unless the host
    /// refused, e.g. a C library without getrandom).
    static func fill(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress,
            let address = UnsafeRawPointer(bitPattern: getRandomAddress)
        else { return 0 }
        let getRandom = unsafeBitCast(address, to: GetRandom.self)
        var filled = 0
        var calls = 0
        while filled < buffer.count, calls < maximumCalls {
            calls += 1
            let count = getRandom(base + filled, buffer.count - filled, 0)
            if count > 0 {
                filled += count
            } else if count < 0, errno != EINTR {
                break
            }
        }
        return filled
    }
}
