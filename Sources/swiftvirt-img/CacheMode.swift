/// qemu-img's cache modes (-t, -T). Only "unsafe" changes anything here: it skips fdatasync.
enum CacheMode {
    static let valid: Set<String> = ["none", "writeback", "writethrough", "directsync", "unsafe"]
}
