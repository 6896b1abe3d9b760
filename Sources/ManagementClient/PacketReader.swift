import LibvirtProtocol

/// Cuts the daemon's byte stream into packets: bytes go in as they arrive, whole packets come out.
struct PacketReader {
    private var buffer: [UInt8] = []
    private var start = 0

    mutating func append(_ bytes: [UInt8]) {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete packet, or nil until more bytes arrive.
    mutating func next() throws(ClientError) -> RPCPacket? {
        let available = buffer.count - start
        guard available >= RPCLimits.lengthWordSize else { return nil }
        let length = buffer[start..<start + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let bodyLength: Int
        do {
            bodyLength = try RPCFramingError.bodyLength(ofPacketLength: length)
        } catch {
            throw .malformed("\(error)")
        }
        guard available - RPCLimits.lengthWordSize >= bodyLength else { return nil }
        let bodyStart = start + RPCLimits.lengthWordSize
        let body = Array(buffer[bodyStart..<bodyStart + bodyLength])
        start = bodyStart + bodyLength
        if start > 1 << 20 {
            buffer.removeFirst(start)
            start = 0
        }
        do {
            return try RPCPacket(body: body)
        } catch {
            throw .malformed("\(error)")
        }
    }
}
