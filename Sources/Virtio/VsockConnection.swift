import GuestMemory

#if canImport(Glibc)
    import Glibc
#endif

/// A stream connection's address as the device sees it: the host-side port (dst_port of the guest's
/// packets) and the guest's port (their src_port). The CIDs are fixed: 2 for the host, the guest's CID.
struct VsockConnectionKey: Hashable {
    var hostPort: UInt32
    var guestPort: UInt32
}

/// One guest stream connection bridged to a host Unix socket, with the credit accounting of virtio 1.2
/// §5.10.6 "Buffer Space Management" in both directions:
/// - guest → host: the guest may have at most `bufferAllocation` bytes in flight
///   (`receivedFromGuest - forwardedToHost`); they wait in `pendingToHost` while the host socket is full.
///   A guest that sends past that credit is reset. `forwardedToHost` is the fwd_cnt every packet carries.
/// - host → guest: the device reads from the host socket only as much as the guest's credit allows,
///   `peerBufferAllocation - (sentToGuest - peerForwardCount)`, straight into a receive buffer, so host
///   data is never buffered here.
struct VsockConnection {
    enum Phase {
        /// Host-initiated: the REQUEST is (about to be) sent, the guest has not answered.
        case connecting
        /// Both sides may send data.
        case established
    }

    /// What the device must do with a connection after handling an event on it.
    enum Verdict {
        case keep
        /// Send the guest an RST and close the host socket.
        case reset
        /// Close the host socket without telling the guest (it reset the connection itself).
        case close
    }

    /// What `nextPacket` put into a receive buffer.
    enum Produced {
        case nothing
        /// A packet of this many bytes (header included).
        case packet(UInt32)
        /// An RST of this many bytes: the host socket failed; drop the connection.
        case finalReset(UInt32)
    }

    /// Unique for the device's lifetime, so a poll result cannot be applied to a newer connection that
    /// reuses the same key or descriptor number.
    let id: UInt64
    let key: VsockConnectionKey
    let hostSocket: Int32
    /// Our buf_alloc: the most guest bytes this connection buffers for the host.
    let bufferAllocation: UInt32
    var phase: Phase

    /// "OK <port>\n" for a host-initiated connection, written to the host before any guest data.
    var greeting = VsockHostBuffer()
    var pendingToHost = VsockHostBuffer()
    var receivedFromGuest: UInt32 = 0
    var forwardedToHost: UInt32 = 0
    /// The fwd_cnt last sent to the guest.
    var announcedForwardCount: UInt32 = 0

    var sentToGuest: UInt32 = 0
    var peerBufferAllocation: UInt32 = 0
    var peerForwardCount: UInt32 = 0

    var needsRequest = false
    var needsResponse = false
    var needsCreditUpdate = false
    /// SHUTDOWN flags still to be sent to the guest, and those already sent.
    var shutdownToSend: UInt32 = 0
    var shutdownSent: UInt32 = 0
    /// SHUTDOWN flags the guest sent.
    var guestShutdown: UInt32 = 0
    /// shutdown(SHUT_WR) was issued on the host socket after the guest stopped sending.
    var hostWriteClosed = false

    /// poll reported the host socket readable (or hung up) and no read has drained it since.
    var hostReadable = false
    /// poll reported POLLHUP: the host closed both directions.
    var hostHungUp = false
    /// A read returned end of file: the host sends nothing more.
    var hostFinished = false

    init(id: UInt64, key: VsockConnectionKey, hostSocket: Int32, bufferAllocation: UInt32, phase: Phase) {
        self.id = id
        self.key = key
        self.hostSocket = hostSocket
        self.bufferAllocation = bufferAllocation
        self.phase = phase
    }

    /// Bytes the guest can take now (never negative, even if the guest shrank its buffer).
    var peerCredit: UInt32 {
        let inFlight = sentToGuest &- peerForwardCount
        return peerBufferAllocation > inFlight ? peerBufferAllocation - inFlight : 0
    }

    /// Whether the host socket should be read for the guest.
    var wantsHostData: Bool {
        phase == .established && !hostFinished && guestShutdown & VsockShutdown.receive == 0
            && shutdownSent & VsockShutdown.send == 0 && peerCredit > 0
    }

    /// The poll(2) events the host socket is waited on for; 0 when nothing is expected from it.
    var pollEvents: Int16 {
        var events: Int16 = 0
        if !greeting.isEmpty || !pendingToHost.isEmpty { events |= Int16(POLLOUT) }
        if wantsHostData && !hostReadable { events |= Int16(POLLIN) }
        return events
    }

    /// Takes buf_alloc and fwd_cnt from any packet of the guest's on this connection.
    mutating func updatePeerCredit(from header: VsockPacketHeader) {
        peerBufferAllocation = header.bufferAllocation
        peerForwardCount = header.forwardCount
    }

    // MARK: - Guest → host

    /// Handles a guest packet addressed to this connection (its credit fields already taken).
    mutating func handle(
        _ header: VsockPacketHeader, operation: VsockOperation, chain: DescriptorChain, memory: GuestMemory
    ) -> Verdict {
        switch operation {
        case .request:
            // A second REQUEST for a live connection: the guest lost track of it.
            return .reset
        case .response:
            guard phase == .connecting else { return .reset }
            phase = .established
            greeting.append(Array("OK \(key.hostPort)\n".utf8))
            return flushToHost()
        case .readWrite:
            return receive(header.length, chain: chain, memory: memory)
        case .shutdown:
            guestShutdown |= header.flags & VsockShutdown.both
            return flushToHost()
        case .creditUpdate:
            return .keep
        case .creditRequest:
            needsCreditUpdate = true
            return .keep
        case .reset, .invalid:
            return .close
        }
    }

    /// Passes `length` payload bytes of an RW packet to the host, keeping what the socket does not take.
    private mutating func receive(_ length: UInt32, chain: DescriptorChain, memory: GuestMemory) -> Verdict {
        guard phase == .established, guestShutdown & VsockShutdown.send == 0 else { return .reset }
        guard length > 0 else { return .keep }
        // §5.10.6 "Buffer Space Management": a sender never has more than the receiver's
        // buf_alloc - (tx_cnt - fwd_cnt) in flight.
        let inFlight = receivedFromGuest &- forwardedToHost
        guard inFlight <= bufferAllocation, length <= bufferAllocation - inFlight else { return .reset }
        receivedFromGuest &+= length
        let direct = greeting.isEmpty && pendingToHost.isEmpty
        let socket = hostSocket
        var kept = pendingToHost
        pendingToHost = VsockHostBuffer()
        defer { pendingToHost = kept }
        let outcome: Result<Int, HostTransferFailure>
        do {
            outcome = try ChainHostTransfer.drain(
                chain, offset: UInt64(VsockPacketHeader.size), length: UInt64(length), memory: memory,
                to: { direct ? HostIO.send(socket, from: $0) : .wouldBlock },
                keep: { kept.append($0) })
        } catch {
            return .reset
        }
        switch outcome {
        case .success(let written):
            forwarded(written)
            return .keep
        case .failure:
            return .reset
        }
    }

    /// Writes what is buffered for the host; then applies the guest's SHUTDOWN once nothing is pending.
    mutating func flushToHost() -> Verdict {
        let socket = hostSocket
        if case .failure = greeting.flush(to: { HostIO.send(socket, from: $0) }) { return .reset }
        if greeting.isEmpty {
            switch pendingToHost.flush(to: { HostIO.send(socket, from: $0) }) {
            case .success(let written): forwarded(written)
            case .failure: return .reset
            }
        }
        guard greeting.isEmpty, pendingToHost.isEmpty else { return .keep }
        if guestShutdown & VsockShutdown.send != 0, !hostWriteClosed {
            HostIO.shutdownWrite(hostSocket)
            hostWriteClosed = true
        }
        // The guest will neither send nor receive: everything it sent is delivered, so finish with an
        // RST, which a Linux guest waits for after its SHUTDOWN (virtio_transport_close).
        return guestShutdown == VsockShutdown.both ? .reset : .keep
    }

    /// Counts bytes the host took and asks for a CREDIT_UPDATE once a quarter of the buffer was freed
    /// unannounced: a guest that ran out of credit then always learns of the space.
    private mutating func forwarded(_ count: Int) {
        forwardedToHost &+= UInt32(truncatingIfNeeded: count)
        if forwardedToHost &- announcedForwardCount >= max(bufferAllocation / 4, 1) {
            needsCreditUpdate = true
        }
    }

    /// poll reported `events` on the host socket.
    mutating func hostReady(_ events: Int16) -> Verdict {
        let hangUp = events & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
        if phase == .connecting {
            // The host gave up before the guest answered the REQUEST.
            return hangUp ? .reset : .keep
        }
        if events & Int16(POLLIN | POLLHUP | POLLERR | POLLNVAL) != 0 {
            hostReadable = true
            if events & Int16(POLLHUP) != 0 { hostHungUp = true }
        }
        if events & Int16(POLLOUT) != 0 || (hangUp && !(greeting.isEmpty && pendingToHost.isEmpty)) {
            return flushToHost()
        }
        return .keep
    }

    // MARK: - Host → guest

    /// A header from the host end of this connection. Every packet carries our credit, so it also
    /// serves as a credit update.
    private mutating func header(
        _ operation: VsockOperation, guestCID: UInt64, length: UInt32 = 0, flags: UInt32 = 0
    ) -> VsockPacketHeader {
        announcedForwardCount = forwardedToHost
        needsCreditUpdate = false
        return VsockPacketHeader(
            sourceCID: VirtioVsock.hostCID, destinationCID: guestCID, sourcePort: key.hostPort,
            destinationPort: key.guestPort, length: length, operation: operation, flags: flags,
            bufferAllocation: bufferAllocation, forwardCount: forwardedToHost)
    }

    /// Puts the next packet this connection has for the guest into `chain` (at least a header's worth
    /// of writable bytes): a REQUEST or RESPONSE first, then host data within the guest's credit, then
    /// a SHUTDOWN, then a bare CREDIT_UPDATE.
    mutating func nextPacket(
        into chain: DescriptorChain, guestCID: UInt64, maximumPayload: UInt32, memory: GuestMemory
    ) throws(DescriptorChainError) -> Produced {
        let headerSize = UInt32(VsockPacketHeader.size)
        if needsRequest {
            needsRequest = false
            try header(.request, guestCID: guestCID).write(to: chain, memory: memory)
            return .packet(headerSize)
        }
        if needsResponse {
            needsResponse = false
            try header(.response, guestCID: guestCID).write(to: chain, memory: memory)
            return .packet(headerSize)
        }
        if hostReadable && wantsHostData {
            let room = chain.writableLength - UInt64(headerSize)
            let length = min(room, UInt64(maximumPayload), UInt64(peerCredit))
            let socket = hostSocket
            let result = try ChainHostTransfer.fill(
                chain, offset: UInt64(headerSize), length: length, memory: memory
            ) { HostIO.receive(socket, into: $0) }
            switch result {
            case .transferred(let count) where count > 0:
                let payload = UInt32(truncatingIfNeeded: count)
                sentToGuest &+= payload
                try header(.readWrite, guestCID: guestCID, length: payload).write(to: chain, memory: memory)
                return .packet(headerSize + payload)
            case .transferred, .wouldBlock:
                hostReadable = length == 0
            case .endOfFile:
                hostReadable = false
                hostFinished = true
                // Half-closed (shutdown(SHUT_WR)) hosts still read; a hung-up one does neither.
                shutdownToSend |= hostHungUp ? VsockShutdown.both : VsockShutdown.send
            case .failed:
                try header(.reset, guestCID: guestCID).write(to: chain, memory: memory)
                return .finalReset(headerSize)
            }
        }
        if shutdownToSend != 0 {
            let flags = shutdownToSend
            shutdownToSend = 0
            shutdownSent |= flags
            try header(.shutdown, guestCID: guestCID, flags: flags).write(to: chain, memory: memory)
            return .packet(headerSize)
        }
        if needsCreditUpdate {
            try header(.creditUpdate, guestCID: guestCID).write(to: chain, memory: memory)
            return .packet(headerSize)
        }
        return .nothing
    }
}
