import GuestMemory

/// The transmit queue: packets from the guest (virtio 1.2 §5.10.6 "Device Operation").
extension VsockState {
    /// Handles every chain available on the transmit queue; returns whether the driver wants an
    /// interrupt for the chains returned. Each chain is used with length 0 (the device writes nothing).
    mutating func processTransmitQueue(memory: GuestMemory) throws(VirtqueueError) -> Bool {
        let index = Self.transmitQueue
        guard isActive, !isBroken, queues.count > index, queues[index].isReady else { return false }
        var added = false
        var handled = 0
        drain: while handled < VirtioVsock.maximumChainsPerCall {
            while handled < VirtioVsock.maximumChainsPerCall, let chain = try queues[index].popAvailable(memory: memory)
            {
                handleGuestPacket(chain, memory: memory)
                try queues[index].addUsed(head: chain.headIndex, length: 0, memory: memory)
                added = true
                handled += 1
            }
            // With EVENT_IDX, ask for the next notification, then look again for chains the driver
            // added before it could see the request (§2.7.10).
            guard queues[index].eventIndexEnabled, handled < VirtioVsock.maximumChainsPerCall else { break drain }
            try queues[index].setNotificationSuppression(false, memory: memory)
            guard try queues[index].hasAvailable(memory: memory) else { break drain }
        }
        guard added else { return false }
        return try queues[index].shouldInterrupt(memory: memory)
    }

    /// One packet from the guest. Nothing in it is trusted: a packet too short for its header, or from
    /// another CID, is dropped (no reply can be addressed safely); a bad destination, type, operation or
    /// a `len` the buffers do not hold is answered with an RST that also ends the connection it names.
    mutating func handleGuestPacket(_ chain: DescriptorChain, memory: GuestMemory) {
        guard chain.readableLength >= UInt64(VsockPacketHeader.size),
            let header = try? VsockPacketHeader.read(from: chain, memory: memory),
            header.sourceCID == guestCID
        else { return }
        let key = VsockConnectionKey(hostPort: header.destinationPort, guestPort: header.sourcePort)
        let operation = VsockOperation(rawValue: header.operation)
        if operation == .reset {
            // An RST is never answered (§5.10.6 "Stream Sockets").
            removeConnection(key, notifyGuest: false)
            return
        }
        let payloadRoom = chain.readableLength - UInt64(VsockPacketHeader.size)
        guard let operation, operation != .invalid, header.destinationCID == VirtioVsock.hostCID,
            header.type == VsockPacketHeader.streamType, UInt64(header.length) <= payloadRoom,
            header.length <= VirtioVsock.maximumPayload, header.length == 0 || operation == .readWrite
        else {
            removeConnection(key, notifyGuest: false)
            queueReset(answering: header)
            return
        }
        let verdict = withConnection(key) { connection in
            connection.updatePeerCredit(from: header)
            return connection.handle(header, operation: operation, chain: chain, memory: memory)
        }
        if let verdict {
            apply(verdict, to: key)
        } else if operation == .request {
            openHostConnection(for: header, key: key)
        } else {
            queueReset(answering: header)
        }
    }

    /// A guest REQUEST to host port P: connect to the Unix socket "<path>_P" and answer RESPONSE, or RST
    /// when nothing listens there (or too many connections are open).
    private mutating func openHostConnection(for header: VsockPacketHeader, key: VsockConnectionKey) {
        guard connections.count < VirtioVsock.maximumConnections,
            let socket = try? HostIO.connectUnix(path: "\(socketPath)_\(header.destinationPort)")
        else {
            queueReset(answering: header)
            return
        }
        var connection = VsockConnection(
            id: makeIdentifier(), key: key, hostSocket: socket, bufferAllocation: bufferAllocation,
            phase: .established)
        connection.updatePeerCredit(from: header)
        connection.needsResponse = true
        connections[key] = connection
    }
}
