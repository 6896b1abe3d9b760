import Foundation
import Testing

@testable import Virtio

#if canImport(Glibc)
    import Glibc
#endif

/// These tests create real tap interfaces in the current network namespace (root needed; skipped
/// otherwise). Each interface lives only while its descriptor is open, and the tests check it is gone.
@Suite("TapBackend on a real tap interface (creates and removes taps in this namespace)")
struct TapBackendTests {
    static var canCreateTaps: Bool {
        getuid() == 0 && access(TapBackend.controlPath, R_OK | W_OK) == 0
    }

    static func interfaceExists(_ name: String) -> Bool {
        access("/sys/class/net/\(name)", F_OK) == 0
    }

    @Test(
        "a named tap is created with a vnet header, accepts offloads and disappears when closed",
        .enabled(if: canCreateTaps))
    func namedTap() throws {
        let name = "svt\(getpid() % 100_000)n"
        do {
            let tap = try TapBackend(name: name)
            #expect(tap.interfaceName == name)
            #expect(tap.hasVnetHeader)
            #expect(Self.interfaceExists(name))
            try tap.setOffloads([.checksum, .tcp4Segmentation, .tcp6Segmentation, .segmentationECN])
            try tap.setOffloads([])
            let flags = fcntl(tap.fileDescriptor, F_GETFL)
            #expect(flags & O_NONBLOCK != 0)
            // Nothing was sent to a tap that is down: a receive would block.
            var buffer = [UInt8](repeating: 0, count: 2048)
            #expect(try buffer.withUnsafeMutableBytes { try tap.receive(into: $0) } == nil)
        }
        #expect(!Self.interfaceExists(name))
    }

    @Test(
        "an empty name lets the kernel choose; an adopted descriptor reports the same interface",
        .enabled(if: canCreateTaps))
    func kernelNamedAndAdopted() throws {
        let tap = try TapBackend()
        #expect(!tap.interfaceName.isEmpty)
        #expect(Self.interfaceExists(tap.interfaceName))
        let duplicate = dup(tap.fileDescriptor)
        try #require(duplicate >= 0)
        let adopted = try TapBackend(fileDescriptor: duplicate)
        #expect(adopted.interfaceName == tap.interfaceName)
        #expect(adopted.hasVnetHeader)
    }

    @Test("a descriptor that is not a tap is refused; bad names are refused before any system call")
    func refusals() throws {
        var pipeEnds: [Int32] = [-1, -1]
        try #require(pipe(&pipeEnds) == 0)
        defer {
            close(pipeEnds[0])
            close(pipeEnds[1])
        }
        #expect(throws: NetworkBackendError.self) { try TapBackend(fileDescriptor: pipeEnds[0]) }
        #expect(throws: NetworkBackendError.invalidInterfaceName("a-name-longer-than-15")) {
            try TapBackend(name: "a-name-longer-than-15")
        }
    }
}

/// A tap brought up in this namespace (IPv6 off, so the kernel sends nothing of its own) with an
/// AF_PACKET socket bound to it: the host end of frames the guest sends and the source of frames it gets.
/// Closing the tap removes the interface.
final class LiveTap {
    /// linux/sockios.h.
    static let getFlags: UInt = 0x8913
    static let setFlags: UInt = 0x8914
    /// linux/if_ether.h ETH_P_ALL, and AF_PACKET.
    static let allProtocols: UInt16 = 0x0003
    static let packetFamily: Int32 = 17

    let tap: TapBackend
    let packetSocket: Int32

    init(name: String) throws {
        tap = try TapBackend(name: name)
        let ipv6 = "/proc/sys/net/ipv6/conf/\(name)/disable_ipv6"
        if access(ipv6, W_OK) == 0 { try "1".write(toFile: ipv6, atomically: false, encoding: .utf8) }
        let control = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard control >= 0 else { throw NetworkBackendError.systemCall(name: "socket", errno: errno) }
        defer { close(control) }
        guard var request = InterfaceRequest(name: name, flags: 0) else {
            throw NetworkBackendError.invalidInterfaceName(name)
        }
        guard request.bytes.withUnsafeMutableBytes({ ioctl(control, Self.getFlags, $0.baseAddress!) }) == 0 else {
            throw NetworkBackendError.systemCall(name: "SIOCGIFFLAGS", errno: errno)
        }
        request.flags |= 1  // IFF_UP
        guard request.bytes.withUnsafeMutableBytes({ ioctl(control, Self.setFlags, $0.baseAddress!) }) == 0 else {
            throw NetworkBackendError.systemCall(name: "SIOCSIFFLAGS", errno: errno)
        }
        packetSocket = socket(Self.packetFamily, Int32(SOCK_RAW.rawValue), Int32(Self.allProtocols.bigEndian))
        guard packetSocket >= 0 else { throw NetworkBackendError.systemCall(name: "socket(AF_PACKET)", errno: errno) }
        // struct sockaddr_ll: family u16, protocol be16, ifindex i32, hatype u16, pkttype u8, halen u8, addr[8].
        var address = [UInt8](repeating: 0, count: 20)
        withUnsafeBytes(of: UInt16(Self.packetFamily)) { address.replaceSubrange(0..<2, with: $0) }
        withUnsafeBytes(of: Self.allProtocols.bigEndian) { address.replaceSubrange(2..<4, with: $0) }
        withUnsafeBytes(of: Int32(if_nametoindex(name))) { address.replaceSubrange(4..<8, with: $0) }
        let bound = address.withUnsafeBytes {
            bind(packetSocket, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), 20)
        }
        guard bound == 0 else {
            close(packetSocket)
            throw NetworkBackendError.systemCall(name: "bind(AF_PACKET)", errno: errno)
        }
    }

    deinit {
        close(packetSocket)
    }

    /// The host sends `frame` out of the interface, towards the tap's reader.
    func send(_ frame: [UInt8]) -> Bool {
        frame.withUnsafeBytes { Glibc.send(packetSocket, $0.baseAddress, $0.count, 0) } == frame.count
    }

    /// The next frame seen on the interface with `etherType`, within `timeout` milliseconds.
    func receive(etherType: UInt16, timeout: Int32 = 2000) -> [UInt8]? {
        var descriptor = pollfd(fd: packetSocket, events: Int16(POLLIN), revents: 0)
        var buffer = [UInt8](repeating: 0, count: 70_000)
        for _ in 0..<64 {
            guard poll(&descriptor, 1, timeout) == 1 else { return nil }
            let count = buffer.withUnsafeMutableBytes { recv(packetSocket, $0.baseAddress, $0.count, 0) }
            guard count >= 14 else { continue }
            if UInt16(buffer[12]) << 8 | UInt16(buffer[13]) == etherType { return Array(buffer[0..<count]) }
        }
        return nil
    }
}

@Suite("VirtioNet over a real tap interface (creates and removes a tap in this namespace)")
struct VirtioNetTapTests {
    /// IEEE 802 "local experimental" EtherType, which no host protocol answers.
    static let etherType: UInt16 = 0x88B5

    static func frame(source: [UInt8], payloadLength: Int, seed: UInt8) -> [UInt8] {
        [UInt8](repeating: 0xFF, count: 6) + source + [0x88, 0xB5]
            + (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0) ^ seed }
    }

    @Test("frames cross the tap both ways with the 12-byte vnet header", .enabled(if: TapBackendTests.canCreateTaps))
    func roundTrip() throws {
        let name = "svt\(getpid() % 100_000)e"
        do {
            let live = try LiveTap(name: name)
            let harness = try NetHarness(network: live.tap)

            // Guest → host.
            let outgoing = Self.frame(source: NetHarness.mac.octets, payloadLength: 100, seed: 0x3C)
            try harness.transmit([NetHarness.netHeader() + outgoing])
            #expect(try harness.tx.usedIndex() == 1)
            #expect(live.receive(etherType: Self.etherType) == outgoing)
            #expect(harness.device.transmitter.sentFrames == 1)

            // Host → guest.
            var buffers: [TestBuffer] = []
            for _ in 0..<8 { buffers += try harness.rx.postReceiveBuffers([2048]).buffers }
            harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
            let incoming = Self.frame(source: [0x02, 0, 0, 0, 0, 0x99], payloadLength: 200, seed: 0xA5)
            #expect(live.send(incoming))
            var found = false
            let deadline = ContinuousClock.now + .seconds(5)
            while !found, ContinuousClock.now < deadline {
                let used = try harness.rx.usedIndex()
                for slot in 0..<used {
                    let element = try harness.rx.usedElement(slot)
                    guard element.length == UInt32(12 + incoming.count) else { continue }
                    let bytes = try harness.memory.read(
                        at: buffers[Int(element.id)].address, length: Int(element.length))
                    found = Array(bytes[12...]) == incoming && bytes[10] == 1 && bytes[11] == 0
                }
                if !found { usleep(2000) }
            }
            #expect(found)
        }
        #expect(!TapBackendTests.interfaceExists(name))
    }
}
