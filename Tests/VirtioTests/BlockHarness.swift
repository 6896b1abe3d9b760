import GuestMemory

@testable import Virtio

/// A virtio-blk device on a temporary raw image behind a virtio-mmio transport, brought up with every
/// feature it offers, and a driver that submits one request at a time.
final class BlockHarness {
    static let imageSize = 1 << 20  // 2048 sectors
    static let serial = "swiftvirt-disk0"

    let memory: GuestMemory
    let image: TemporaryDiskImage
    let backend: RawFileBackend
    let device: VirtioBlock
    let interrupts = InterruptRecorder()
    let transport: VirtioMMIOTransport
    let mmio: MMIODriver
    let rings: TestDriver

    /// The outcome of one request as the driver sees it.
    struct Completion {
        var status: UInt8?
        var usedLength: UInt32
        var data: [UInt8]
    }

    init(readOnly: Bool = false, contents: [UInt8] = []) throws {
        memory = try GuestMemory(size: 4 << 20)
        image = try TemporaryDiskImage(size: Self.imageSize, contents: contents)
        backend = try RawFileBackend(path: image.path, readOnly: readOnly)
        device = VirtioBlock(backend: backend, serial: Self.serial)
        transport = VirtioMMIOTransport(device: device, memory: memory, interruptLine: interrupts.line)
        mmio = MMIODriver(transport: transport)
        rings = TestDriver(memory: memory, size: 16)
        mmio.negotiate(features: device.deviceFeatures)
        mmio.setUpQueue(0, size: 16, rings: rings)
        mmio.driverOK()
    }

    /// A 16-byte request header (§5.2.6).
    static func header(type: UInt32, sector: UInt64) -> [UInt8] {
        withUnsafeBytes(of: type.littleEndian) { Array($0) } + [0, 0, 0, 0]
            + withUnsafeBytes(of: sector.littleEndian) { Array($0) }
    }

    /// A discard / write-zeroes range segment.
    static func range(sector: UInt64, sectors: UInt32, flags: UInt32 = 0) -> [UInt8] {
        withUnsafeBytes(of: sector.littleEndian) { Array($0) }
            + withUnsafeBytes(of: sectors.littleEndian) { Array($0) }
            + withUnsafeBytes(of: flags.littleEndian) { Array($0) }
    }

    /// Submits `readable` buffers then writable buffers of `writableLengths`, notifies, and returns the
    /// status (last writable byte), used length and all writable bytes before the status.
    func submit(readable: [[UInt8]], writableLengths: [Int]) throws -> Completion {
        var buffers = try readable.map {
            TestBuffer(address: try rings.buffer($0), length: UInt32($0.count), writable: false)
        }
        var writable: [TestBuffer] = []
        for length in writableLengths {
            let address = try rings.buffer([UInt8](repeating: 0xEE, count: length))
            writable.append(TestBuffer(address: address, length: UInt32(length), writable: true))
        }
        buffers += writable
        try rings.writeChain(buffers)
        let usedBefore = try rings.usedIndex()
        try rings.makeAvailable(0)
        mmio.write(VirtioMMIORegister.queueNotify, 0)
        guard try rings.usedIndex() == usedBefore &+ 1 else {
            return Completion(status: nil, usedLength: 0, data: [])
        }
        let element = try rings.usedElement(usedBefore)
        var bytes: [UInt8] = []
        for buffer in writable {
            bytes += try memory.read(at: buffer.address, length: Int(buffer.length))
        }
        let status = bytes.popLast()
        return Completion(status: element.length > 0 ? status : nil, usedLength: element.length, data: bytes)
    }

    /// The usual request: header, optional out data, in-data of `readLength`, status byte.
    func request(type: UInt32, sector: UInt64, out: [UInt8] = [], readLength: Int = 0) throws -> Completion {
        let readable = [Self.header(type: type, sector: sector)] + (out.isEmpty ? [] : [out])
        return try submit(readable: readable, writableLengths: (readLength > 0 ? [readLength] : []) + [1])
    }
}
