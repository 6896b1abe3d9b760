/// A PCI function's configuration space, as the host bridge's configuration mechanism reaches it
/// (PCI Local Bus 3.0 §6.1). `offset` is in 0..<256, `size` is 1, 2 or 4 and the access does not cross
/// a 4-byte boundary (the mechanism guarantees both); values are little-endian in the low bytes.
public protocol PCIFunction: AnyObject, Sendable {
    func readConfig(offset: Int, size: Int) -> UInt32
    func writeConfig(offset: Int, size: Int, value: UInt32)
}
