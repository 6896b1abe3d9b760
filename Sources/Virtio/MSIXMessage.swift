/// One MSI-X message: the memory write a vector stands for (PCI Local Bus 3.0 §6.8.2.5–6.8.2.7).
public struct MSIXMessage: Equatable, Sendable {
    public var address: UInt64
    public var data: UInt32

    public init(address: UInt64, data: UInt32) {
        self.address = address
        self.data = data
    }
}
