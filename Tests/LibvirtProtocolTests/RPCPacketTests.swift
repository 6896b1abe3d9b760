import Testing

@testable import LibvirtProtocol

@Suite("RPC packets, errors and messages")
struct RPCPacketTests {
    let uuid = DomainUUID(string: "4dea22b3-1d52-d8f3-2516-782e98ab3fa0")!

    @Test("a packet starts with a length word that counts itself, then the 24-byte header")
    func packetLayout() throws {
        let header = RPCHeader(
            program: RPCProgram.remote, version: 1, procedure: RemoteProcedure.connectGetHostname.rawValue,
            type: .call, serial: 7, status: .ok)
        let bytes = try RPCPacket(header: header).serialized()
        #expect(
            bytes == [
                0, 0, 0, 28, 0x20, 0x00, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 59, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0,
            ])
        let parsed = try RPCPacket(body: Array(bytes.dropFirst(4)))
        #expect(parsed.header == header)
        #expect(parsed.payload.isEmpty)
    }

    @Test("length words outside [28, 4 + 32 MiB] are refused")
    func framingLimits() throws {
        #expect(throws: RPCFramingError.packetTooSmall(length: 27)) {
            try RPCFramingError.bodyLength(ofPacketLength: 27)
        }
        #expect(throws: RPCFramingError.packetTooSmall(length: 0)) { try RPCFramingError.bodyLength(ofPacketLength: 0) }
        #expect(try RPCFramingError.bodyLength(ofPacketLength: 28) == 24)
        #expect(try RPCFramingError.bodyLength(ofPacketLength: 33_554_436) == 33_554_432)
        #expect(throws: RPCFramingError.packetTooLarge(length: 33_554_437)) {
            try RPCFramingError.bodyLength(ofPacketLength: 33_554_437)
        }
        #expect(throws: RPCFramingError.packetTooLarge(length: .max)) {
            try RPCFramingError.bodyLength(ofPacketLength: .max)
        }
    }

    @Test("undefined message types and statuses still decode, so they can be answered")
    func unknownHeaderValues() throws {
        let bytes: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 99, 0, 0, 0, 1, 0, 0, 0, 42]
        let header = try XDRDecoder.decode(RPCHeader.self, from: bytes)
        #expect(header.type.rawValue == 99)
        #expect(header.status.rawValue == 42)
        #expect(header.type.description == "type 99")
    }

    @Test("an error reply carries virNetMessageError with the call's serial")
    func errorReply() throws {
        let call = RPCHeader(program: RPCProgram.remote, version: 1, procedure: 20, type: .call, serial: 9, status: .ok)
        let reply = RPCPacket.errorReply(to: call, error: LibvirtError.noSupport("virDomainGetVcpus").remoteError)
        #expect(reply.header.type == .reply)
        #expect(reply.header.status == .error)
        #expect(reply.header.serial == 9)
        #expect(reply.header.procedure == 20)
        let error = try reply.decodePayload(as: RemoteError.self)
        #expect(error.code == .noSupport)
        #expect(error.code.rawValue == 3)
        #expect(error.level == .error)
        #expect(error.message == "this function is not supported by the connection driver: virDomainGetVcpus")
        #expect(error.errorDomain == nil)
        #expect(error.network == nil)
        // code, domain, message (present flag, length, padded text), level, dom flag, str1-3 flags,
        // int1, int2, net flag.
        let text = ((error.message?.utf8.count ?? 0) + 3) / 4 * 4
        #expect(reply.payload.count == 4 + 4 + 4 + 4 + text + 4 + 4 + 12 + 8 + 4)
    }

    @Test("an error reply whose message is too long is cut, not dropped")
    func oversizedErrorMessage() throws {
        let call = RPCHeader(program: RPCProgram.remote, version: 1, procedure: 1, type: .call, serial: 1, status: .ok)
        let huge = String(repeating: "x", count: RPCLimits.maxStringLength + 1)
        let reply = RPCPacket.errorReply(
            to: call, error: RemoteError(code: .internalError, domain: .none, message: huge))
        let error = try reply.decodePayload(as: RemoteError.self)
        #expect(error.code == .internalError)
        #expect(error.message?.utf8.count == 1024)
    }

    @Test("keepalive PONG is a MESSAGE of program 0x6b656570 with serial 0 and no payload")
    func keepalive() throws {
        let bytes = try KeepaliveProcedure.pong.packet.serialized()
        #expect(
            bytes == [0, 0, 0, 28, 0x6B, 0x65, 0x65, 0x70, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("virNodeInfo sends its char[32] model as 32 four-byte units")
    func nodeInfoLayout() throws {
        let info = NodeInfoReply(
            model: "x86_64", memory: 1024, cpus: 2, mhz: 2000, nodes: 1, sockets: 1, cores: 2, threads: 1)
        let bytes = try XDREncoder.encode(info)
        #expect(bytes.count == 32 * 4 + 8 + 6 * 4)
        #expect(Array(bytes[0..<8]) == [0, 0, 0, 0x78, 0, 0, 0, 0x38])
        #expect(try XDRDecoder.decode(NodeInfoReply.self, from: bytes) == info)
        let long = NodeInfoReply(
            model: String(repeating: "m", count: 40), memory: 0, cpus: 0, mhz: 0, nodes: 0, sockets: 0, cores: 0,
            threads: 0)
        #expect(try XDRDecoder.decode(NodeInfoReply.self, from: XDREncoder.encode(long)).model.count == 31)
    }

    @Test("virDomainInfo sends state and vCPU count as four-byte units")
    func domainInfoLayout() throws {
        let info = DomainInfoReply(state: .running, maxMemory: 2048, memory: 1024, virtualCPUs: 2, cpuTime: 5)
        let bytes = try XDREncoder.encode(info)
        #expect(bytes.count == 4 + 8 + 8 + 4 + 8)
        #expect(try XDRDecoder.decode(DomainInfoReply.self, from: bytes) == info)
        #expect(throws: XDRDecodingError.self) {
            try XDRDecoder.decode(DomainInfoReply.self, from: [0, 0, 0, 9] + bytes.dropFirst(4))
        }
    }

    @Test("every message type round-trips")
    func messageRoundTrips() throws {
        let domain = RemoteDomain(name: "vm1", uuid: uuid, id: 3)
        try roundTrip(ConnectOpenArgs(name: "qemu:///system", flags: 1))
        try roundTrip(ConnectOpenArgs(name: nil, flags: 0))
        try roundTrip(AuthListReply(types: [.none, .sasl]))
        try roundTrip(IntMessage(-5))
        try roundTrip(FlagsMessage(flags: 3))
        try roundTrip(UnsignedHyperMessage(9_000_000))
        try roundTrip(StringMessage("<domain/>"))
        try roundTrip(StringFlagsMessage("<domain/>", flags: 1))
        try roundTrip(DomainIDList(ids: [1, 2, 3]))
        try roundTrip(StringList(["a", "bb"]))
        try roundTrip(ListAllDomainsArgs(needResults: 1, flags: [.active, .persistent]))
        try roundTrip(ListAllDomainsReply(domains: [domain, domain], count: 2))
        try roundTrip(SecurityModelReply(model: Array("selinux".utf8), doi: Array("0".utf8)))
        try roundTrip(ConnectGetMaxVcpusArgs(type: nil))
        try roundTrip(DomainMessage(domain))
        try roundTrip(DomainFlagsMessage(domain, flags: 2))
        try roundTrip(DomainLookupByUUIDArgs(uuid: uuid))
        try roundTrip(DomainStateReply(state: .paused, reason: 1))
        try roundTrip(DomainSetAutostartArgs(domain, autostart: true))
        try roundTrip(DomainEventCallbackRegisterArgs(eventID: 0, domain: nil))
        try roundTrip(DomainEventCallbackRegisterArgs(eventID: 0, domain: domain))
        try roundTrip(DomainMessageList(["tainted"]))
        try roundTrip(
            RemoteError(
                code: .noDomain, domain: .qemu, message: "m", str1: "a", str2: nil, str3: "c", int1: 1, int2: -1))
        try roundTrip(XDRVoid())
    }

    private func roundTrip<T: XDRCodable & Equatable>(_ value: T) throws {
        let bytes = try XDREncoder.encode(value)
        #expect(bytes.count % 4 == 0)
        #expect(try XDRDecoder.decode(T.self, from: bytes) == value)
    }

    @Test("list filters follow virConnectListAllDomains' pairs and state groups")
    func listFilters() {
        let running = ListAllDomainsFlags.Subject(state: .running, persistent: true, autostart: false)
        let stopped = ListAllDomainsFlags.Subject(state: .shutoff, persistent: true, autostart: true)
        let paused = ListAllDomainsFlags.Subject(state: .paused, persistent: false, autostart: false)
        #expect(ListAllDomainsFlags().matches(running))
        #expect(ListAllDomainsFlags([.active, .inactive]).matches(stopped))
        #expect(ListAllDomainsFlags.active.matches(running))
        #expect(!ListAllDomainsFlags.active.matches(stopped))
        #expect(ListAllDomainsFlags.inactive.matches(stopped))
        #expect(ListAllDomainsFlags.transient.matches(paused))
        #expect(!ListAllDomainsFlags.transient.matches(running))
        #expect(ListAllDomainsFlags.autostart.matches(stopped))
        #expect(ListAllDomainsFlags.noAutostart.matches(running))
        #expect(ListAllDomainsFlags([.running, .paused]).matches(paused))
        #expect(!ListAllDomainsFlags([.running, .shutoff]).matches(paused))
        #expect(ListAllDomainsFlags.noManagedSave.matches(running))
        #expect(!ListAllDomainsFlags.managedSave.matches(running))
    }

    @Test("procedures name their libvirt API, or their number")
    func procedureNames() {
        #expect(RemoteProcedure.domainGetVcpus.description == "virDomainGetVcpus")
        #expect(RemoteProcedure(rawValue: 9999).description == "procedure 9999")
        #expect(RemoteProcedure.connectListAllDomains.rawValue == 273)
        #expect(RemoteProcedure.domainDefineXMLFlags.rawValue == 350)
    }
}
