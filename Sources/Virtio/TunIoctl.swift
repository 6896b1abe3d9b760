/// Request numbers and flags of the tun/tap driver's ioctls (linux/if_tun.h). The request macros are
/// function-like (`_IOW('T', 202, int)`), which Swift cannot import, so they are computed here the way
/// asm-generic/ioctl.h builds them.
enum TunIoctl {
    /// _IOC_WRITE: user space passes data in.
    static let directionWrite: UInt = 1
    /// _IOC_READ: the kernel passes data out.
    static let directionRead: UInt = 2
    /// The tun driver's ioctl type letter.
    static let type = UInt(UInt8(ascii: "T"))

    /// _IOC(direction, type, number, size): direction << 30 | size << 16 | type << 8 | number.
    static func request(direction: UInt, number: UInt, size: Int) -> UInt {
        direction << 30 | UInt(size) << 16 | type << 8 | number
    }

    /// TUNSETIFF, _IOW('T', 202, int) = 0x400454ca: attaches the descriptor to an interface (struct ifreq).
    static let setInterface = request(direction: directionWrite, number: 202, size: 4)
    /// TUNSETOFFLOAD, _IOW('T', 208, unsigned int) = 0x400454d0: TUN_F_* flags, passed by value.
    static let setOffload = request(direction: directionWrite, number: 208, size: 4)
    /// TUNGETIFF, _IOR('T', 210, unsigned int) = 0x800454d2: the interface's name and flags (struct ifreq).
    static let getInterface = request(direction: directionRead, number: 210, size: 4)
    /// TUNSETVNETHDRSZ, _IOW('T', 216, int) = 0x400454d8: the vnet header size (pointer to int).
    static let setVnetHeaderSize = request(direction: directionWrite, number: 216, size: 4)

    /// IFF_TAP: an Ethernet (layer 2) device.
    static let flagTap: UInt16 = 0x0002
    /// IFF_NO_PI: no 4-byte packet-information prefix.
    static let flagNoPacketInformation: UInt16 = 0x1000
    /// IFF_VNET_HDR: frames carry a virtio-net header.
    static let flagVnetHeader: UInt16 = 0x4000
}
