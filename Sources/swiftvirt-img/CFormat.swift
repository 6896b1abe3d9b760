#if canImport(Glibc)
    import Glibc
#endif

/// printf-style formatting of numbers through the C library, for the few places where qemu-img's
/// output depends on printf's rounding ("%0.2f", "%0.3g", "%3.2f"). Formats are constants in this
/// program; arguments are numbers only.
func cFormat(_ format: String, _ arguments: CVarArg...) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    let count = withVaList(arguments) { list in
        buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, list) }
    }
    guard count >= 0 else { return "" }
    let bytes = buffer.prefix(min(Int(count), buffer.count - 1)).map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
