import LibvirtProtocol
import NIOCore

/// What the framing layer hands the connection: a whole packet, or the reason the byte stream can no
/// longer be framed (after which the connection is answered, if possible, and closed).
enum RPCInbound: Sendable {
    case packet(RPCPacket)
    /// `header` is the bad packet's header when enough bytes had arrived to read it, so the error can
    /// be sent as a reply to that call.
    case framingError(RPCFramingError, header: RPCHeader?)
}

/// Splits the byte stream into libvirt packets: a 4-byte big-endian length that counts itself, then
/// that many bytes (virnetprotocol.x). A length outside [28, 4 + 32 MiB] cannot be recovered from;
/// the decoder reports it once and discards everything after.
struct RPCFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = RPCInbound

    /// ByteToMessageHandler's buffer cap: the largest packet plus one read's worth of the next.
    static let maximumBufferSize = RPCLimits.maxPacketLength + 65536

    private var failed = false

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if failed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return .needMoreData
        }
        let bodyLength: Int
        do {
            bodyLength = try RPCFramingError.bodyLength(ofPacketLength: length)
        } catch {
            failed = true
            let header = Self.header(in: buffer)
            buffer.moveReaderIndex(to: buffer.writerIndex)
            context.fireChannelRead(wrapInboundOut(.framingError(error, header: header)))
            return .needMoreData
        }
        guard buffer.readableBytes >= RPCLimits.lengthWordSize + bodyLength else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: RPCLimits.lengthWordSize)
        guard let body = buffer.readBytes(length: bodyLength) else { return .needMoreData }
        // bodyLength >= the header size, so this cannot fail; stay total anyway.
        guard let packet = try? RPCPacket(body: body) else { return .continue }
        context.fireChannelRead(wrapInboundOut(.packet(packet)))
        return .continue
    }

    /// At end of input a partial packet is dropped: its sender is gone.
    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }

    /// The header following the length word, if it has fully arrived.
    private static func header(in buffer: ByteBuffer) -> RPCHeader? {
        guard
            let bytes = buffer.getBytes(
                at: buffer.readerIndex + RPCLimits.lengthWordSize, length: RPCHeader.encodedSize)
        else { return nil }
        return try? XDRDecoder.decode(RPCHeader.self, from: bytes)
    }
}
