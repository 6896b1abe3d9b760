import Foundation
import LibvirtProtocol
import Testing

@testable import swiftvirtd

/// Hostile bytes on the socket: the daemon answers with errors or closes that one connection, and
/// keeps serving everyone else.
@Suite("wire robustness")
struct WireRobustnessTests {
    /// A fresh client can still open a connection and make a call.
    private func serverStillServes(_ daemon: DaemonHarness) async throws {
        let path = daemon.socketPath
        let hostname = try await blocking { () -> String? in
            let client = try RawRPCClient(path: path)
            defer { client.close() }
            guard try client.open()?.header.status == .ok,
                let reply = try client.call(.connectGetHostname, serial: 2)
            else { return nil }
            return try reply.decodePayload(as: StringMessage.self).value
        }
        #expect(hostname == "swiftvirt-test-host")
    }

    @Test("keepalive PING is answered with PONG")
    func keepalive() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            let pong = try await blocking { () -> RPCPacket? in
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                try client.send(KeepaliveProcedure.ping.packet.serialized())
                return try client.receive()
            }
            #expect(pong == KeepaliveProcedure.pong.packet)
        }
    }

    @Test("unknown programs and procedures get error replies and the connection stays usable")
    func unknownProgramAndProcedure() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            let replies = try await blocking { () -> [RPCPacket?] in
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                return [
                    try client.call(.connectGetHostname, serial: 10, program: 0x1234_5678),
                    try client.call(.connectGetHostname, serial: 11),
                    try client.open(),
                    try client.call(RemoteProcedure(rawValue: 9999), serial: 12),
                    try client.call(.domainGetVcpus, serial: 13),
                    try client.call(RemoteProcedure(rawValue: -1), serial: 14),
                    try client.call(.connectGetHostname, serial: 15),
                ]
            }
            let unknownProgram = try #require(replies[0])
            #expect(unknownProgram.header.serial == 10)
            #expect(unknownProgram.remoteError?.code == .rpc)
            #expect(unknownProgram.remoteError?.message == "Cannot find program 305419896 version 1")

            #expect(replies[1]?.remoteError?.message == "internal error: connection not open")
            #expect(replies[2]?.header.status == .ok)

            let unknownProcedure = try #require(replies[3]?.remoteError)
            #expect(unknownProcedure.code == .noSupport)
            #expect(
                unknownProcedure.message == "this function is not supported by the connection driver: procedure 9999")
            #expect(
                replies[4]?.remoteError?.message
                    == "this function is not supported by the connection driver: virDomainGetVcpus")
            #expect(replies[5]?.remoteError?.code == .noSupport)

            let hostname = try #require(replies[6])
            #expect(hostname.header.serial == 15)
            #expect(try hostname.decodePayload(as: StringMessage.self).value == "swiftvirt-test-host")
        }
    }

    @Test("bad XDR in call arguments is an RPC error, not a dropped connection")
    func badPayloads() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            let replies = try await blocking { () -> [RPCPacket?] in
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                return [
                    // A present URI string claiming 4 GiB.
                    try client.call(.connectOpen, serial: 1, payload: [0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xF0]),
                    // A pointer discriminant of 7.
                    try client.call(.connectOpen, serial: 2, payload: [0, 0, 0, 7, 0, 0, 0, 0]),
                    // Truncated flags.
                    try client.call(.connectOpen, serial: 3, payload: [0, 0, 0, 0, 0, 0]),
                    // Trailing bytes.
                    try client.call(.connectOpen, serial: 4, payload: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
                    try client.open(),
                    // A domain name claiming 16 MiB in a lookup.
                    try client.call(.domainLookupByName, serial: 5, payload: [0x01, 0, 0, 0]),
                    // A list of 2^31-1 domains asked for.
                    try client.call(.connectListDomains, serial: 6, payload: [0x7F, 0xFF, 0xFF, 0xFF]),
                    try client.call(.connectNumOfDomains, serial: 7),
                ]
            }
            for reply in replies[0..<4] {
                let error = try #require(reply?.remoteError)
                #expect(error.code == .rpc)
                #expect(error.message?.hasPrefix("Unable to decode message payload") == true)
            }
            #expect(replies[4]?.header.status == .ok)
            #expect(replies[5]?.remoteError?.code == .rpc)
            #expect(replies[6]?.remoteError?.message == "maxids > REMOTE_DOMAIN_LIST_MAX")
            #expect(try replies[7]?.decodePayload(as: IntMessage.self).value == 0)
        }
    }

    @Test("a huge length word is answered when its header is readable, then that connection closes")
    func hugeLength() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            let (reply, afterwards) = try await blocking { () -> (RPCPacket?, RPCPacket?) in
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                var encoder = XDREncoder()
                encoder.encode(UInt32(0x7FFF_FFFF))
                try RawRPCClient.callHeader(RemoteProcedure.connectOpen.rawValue, serial: 42).encode(to: &encoder)
                try client.send(encoder.bytes)
                return (try client.receive(), try client.receive())
            }
            let error = try #require(reply?.remoteError)
            #expect(reply?.header.serial == 42)
            #expect(error.code == .rpc)
            #expect(error.message == "packet 2147483647 bytes received too large, want at most 33554436")
            #expect(afterwards == nil)
            try await serverStillServes(daemon)
        }
    }

    @Test("a length word below the header size closes the connection")
    func tinyLength() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            let (reply, afterwards) = try await blocking { () -> (RPCPacket?, RPCPacket?) in
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                var encoder = XDREncoder()
                encoder.encode(UInt32(8))
                try RawRPCClient.callHeader(RemoteProcedure.connectOpen.rawValue, serial: 3).encode(to: &encoder)
                try client.send(encoder.bytes)
                return (try client.receive(), try client.receive())
            }
            #expect(reply?.remoteError?.message == "packet 8 bytes received too small, want at least 28")
            #expect(afterwards == nil)
            try await serverStillServes(daemon)
        }
    }

    @Test("garbage closes only its own connection")
    func garbage() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            let reply = try await blocking { () -> RPCPacket? in
                let bystander = try RawRPCClient(path: path)
                defer { bystander.close() }
                _ = try bystander.open()
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                try client.send(Array("GET / HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n".utf8))
                let garbageReply = try client.receive()
                // The bystander's connection, opened before the garbage arrived, still works.
                guard garbageReply == nil else { return garbageReply }
                return try bystander.call(.connectGetType, serial: 2)
            }
            #expect(try reply?.decodePayload(as: StringMessage.self).value == "QEMU")
            try await serverStillServes(daemon)
        }
    }

    @Test("a truncated packet followed by end of input is dropped")
    func truncatedPacket() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            let reply = try await blocking { () -> RPCPacket? in
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                let packet = try RPCPacket(
                    header: RawRPCClient.callHeader(RemoteProcedure.connectOpen.rawValue, serial: 1),
                    body: ConnectOpenArgs(name: "qemu:///system", flags: 0)
                ).serialized()
                try client.send(Array(packet.prefix(packet.count - 5)))
                client.shutdownWrites()
                return try client.receive()
            }
            #expect(reply == nil)
            try await serverStillServes(daemon)
        }
    }

    @Test("many clients at once are all served")
    func concurrentClients() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        try await blocking { () -> String? in
                            let client = try RawRPCClient(path: path)
                            defer { client.close() }
                            _ = try client.open()
                            return try client.call(.connectGetType, serial: 2)?.decodePayload(as: StringMessage.self)
                                .value
                        }
                    }
                }
                for try await type in group { #expect(type == "QEMU") }
            }
        }
    }

    @Test("the read-only socket refuses state changes with VIR_ERR_OPERATION_DENIED")
    func readOnlyRefusal() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.readOnlySocketPath
            let reply = try await blocking { () -> RPCPacket? in
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                _ = try client.open()
                return try client.call(
                    .domainDefineXML, serial: 2, payload: XDREncoder.encode(StringMessage("<domain/>")))
            }
            #expect(reply?.remoteError?.code == .operationDenied)
            #expect(reply?.remoteError?.message == "operation forbidden: read only access prevents virDomainDefineXML")
        }
    }
}
