import TestSupport
import Testing

@testable import LibvirtProtocol

@Suite("XDR decoder fuzz")
struct XDRFuzzTests {
    /// Decoding never traps and never throws anything but `XDRDecodingError`, for random bytes and for
    /// mutations of valid messages. Bounded to about three seconds.
    @Test("decoding hostile bytes fails with typed errors only")
    func fuzzDecoders() throws {
        var generator = SplitMix64(seed: 0x5EED_1234)
        let seeds = try validMessages()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(3))
        var iterations = 0
        var decodedCount = 0
        while clock.now < deadline, iterations < 2_000_000 {
            iterations += 1
            let input: [UInt8]
            if Bool.random(using: &generator) {
                let count = Int.random(in: 0...96, using: &generator)
                input = (0..<count).map { _ in
                    // Bias toward bytes that make interesting lengths and bools.
                    [0, 0, 0, 1, 0xFF, UInt8.random(in: 0...255, using: &generator)].randomElement(using: &generator)!
                }
            } else {
                input = mutate(seeds.randomElement(using: &generator)!, using: &generator)
            }
            decodedCount += Self.decodeAsEveryMessage(input)
        }
        #expect(iterations > 1000)
        #expect(decodedCount > 0)
    }

    /// Tries every message type on `input`; returns how many decoded.
    private static func decodeAsEveryMessage(_ input: [UInt8]) -> Int {
        var decoded = 0
        if attempt(RPCHeader.self, input) { decoded += 1 }
        if attempt(RemoteError.self, input) { decoded += 1 }
        if attempt(ConnectOpenArgs.self, input) { decoded += 1 }
        if attempt(AuthListReply.self, input) { decoded += 1 }
        if attempt(NodeInfoReply.self, input) { decoded += 1 }
        if attempt(ListAllDomainsArgs.self, input) { decoded += 1 }
        if attempt(ListAllDomainsReply.self, input) { decoded += 1 }
        if attempt(SecurityModelReply.self, input) { decoded += 1 }
        if attempt(DomainMessage.self, input) { decoded += 1 }
        if attempt(DomainFlagsMessage.self, input) { decoded += 1 }
        if attempt(DomainInfoReply.self, input) { decoded += 1 }
        if attempt(DomainStateReply.self, input) { decoded += 1 }
        if attempt(DomainEventCallbackRegisterArgs.self, input) { decoded += 1 }
        if attempt(StringList.self, input) { decoded += 1 }
        if attempt(DomainIDList.self, input) { decoded += 1 }
        if attempt(StringFlagsMessage.self, input) { decoded += 1 }
        do {
            _ = try RPCPacket(body: input)
            decoded += 1
        } catch {
            _ = error.description
        }
        return decoded
    }

    private static func attempt<T: XDRDecodable>(_ type: T.Type, _ input: [UInt8]) -> Bool {
        do {
            _ = try XDRDecoder.decode(type, from: input)
            return true
        } catch {
            // `error` is statically an XDRDecodingError (typed throws).
            _ = error.description
            return false
        }
    }

    private func validMessages() throws -> [[UInt8]] {
        let domain = RemoteDomain(name: "guest", uuid: DomainUUID.random(), id: 1)
        return [
            try XDREncoder.encode(ConnectOpenArgs(name: "qemu:///system", flags: 0)),
            try XDREncoder.encode(RemoteError(code: .rpc, domain: .rpc, message: "m", str1: "s")),
            try XDREncoder.encode(ListAllDomainsReply(domains: [domain, domain], count: 2)),
            try XDREncoder.encode(DomainFlagsMessage(domain, flags: 1)),
            try XDREncoder.encode(DomainEventCallbackRegisterArgs(eventID: 1, domain: domain)),
            try XDREncoder.encode(StringList(["a", "bcd", ""])),
            try XDREncoder.encode(
                NodeInfoReply(model: "x86_64", memory: 1, cpus: 1, mhz: 1, nodes: 1, sockets: 1, cores: 1, threads: 1)),
        ]
    }

    /// Flips bytes, overwrites words with boundary values, truncates or extends.
    private func mutate(_ bytes: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var result = bytes
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0 where !result.isEmpty:
                result[Int.random(in: 0..<result.count, using: &generator)] = UInt8.random(
                    in: 0...255, using: &generator)
            case 1 where result.count >= 4:
                let word = [UInt32.max, 0x8000_0000, 0x7FFF_FFFF, 0x0040_0001, 2, 0].randomElement(using: &generator)!
                let at = Int.random(in: 0...(result.count - 4), using: &generator) & ~3
                result[at] = UInt8(word >> 24)
                result[at + 1] = UInt8(word >> 16 & 0xFF)
                result[at + 2] = UInt8(word >> 8 & 0xFF)
                result[at + 3] = UInt8(word & 0xFF)
            case 2:
                result = Array(result.prefix(Int.random(in: 0...result.count, using: &generator)))
            default:
                result += (0..<Int.random(in: 1...8, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
            }
        }
        return result
    }
}
