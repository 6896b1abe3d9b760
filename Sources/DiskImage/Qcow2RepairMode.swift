/// What `Qcow2Image.check` may fix (`qemu-img check -r`).
public enum Qcow2RepairMode: String, Sendable, CaseIterable {
    /// Report only.
    case none
    /// Lower refcounts that are too high (leaked clusters).
    case leaks
    /// Also raise refcounts that are too low, rebuild broken refcount structures and fix copied flags.
    case all
}
