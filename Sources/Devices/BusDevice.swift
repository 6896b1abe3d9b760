/// A device that answers guest accesses to a range of port or memory addresses.
///
/// The bus calls these from vCPU threads, possibly several at once, so devices serialize their own state.
/// `offset` is relative to the base the device was inserted at; `size` is the access width in bytes
/// (1, 2, 4 or 8 from x86 `in`/`out` and moves; KVM may split an MMIO access into other widths up to 8);
/// values are little-endian, in the low `size` bytes. A device must not trap on any offset or size: a guest
/// can produce them all.
public protocol BusDevice: AnyObject, Sendable {
    /// Returns the value the guest reads; bytes above `size` are ignored by the bus.
    func read(offset: UInt64, size: Int) -> UInt64
    /// Accepts a guest write of the low `size` bytes of `value`.
    func write(offset: UInt64, size: Int, value: UInt64)
}
