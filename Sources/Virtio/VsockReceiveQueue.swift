import GuestMemory

/// The receive queue: packets for the guest (virtio 1.2 §5.10.6), written straight into its buffers.
extension VsockState {
    /// Fills receive buffers with whatever is due: queued RSTs first, then each connection's next
    /// packet in turn. Returns whether the driver wants an interrupt for the buffers used. A chain that
    /// no packet needed is held for the next call, so host sockets are read only into a buffer in hand.
    mutating func fillReceiveQueue(memory: GuestMemory) throws(VirtqueueError) -> Bool {
        let index = Self.receiveQueue
        guard isActive, !isBroken, queues.count > index, queues[index].isReady else { return false }
        var added = false
        var keys: [VsockConnectionKey] = []
        var budget = Int(queues[index].size) + 1
        while budget > 0, let chain = try takeReceiveChain(memory: memory) {
            budget -= 1
            let length: UInt32?
            do {
                length = try nextPacket(into: chain, keys: &keys, memory: memory)
            } catch {
                throw VirtqueueError(receiveCopy: error, chain: chain)
            }
            guard let length else {
                heldReceiveChain = chain
                break
            }
            try queues[index].addUsed(head: chain.headIndex, length: length, memory: memory)
            added = true
        }
        guard added else { return false }
        return try queues[index].shouldInterrupt(memory: memory)
    }

    /// The held chain, else the next available one; with EVENT_IDX, asks for a notification when the
    /// ring is empty (§2.7.10) and looks once more.
    private mutating func takeReceiveChain(memory: GuestMemory) throws(VirtqueueError) -> DescriptorChain? {
        if let chain = heldReceiveChain {
            heldReceiveChain = nil
            return chain
        }
        let index = Self.receiveQueue
        if let chain = try queues[index].popAvailable(memory: memory) { return chain }
        guard queues[index].eventIndexEnabled else { return nil }
        try queues[index].setNotificationSuppression(false, memory: memory)
        return try queues[index].popAvailable(memory: memory)
    }

    /// Writes one packet into `chain` and returns its length, or nil when nothing is due. A chain too
    /// small for a header is returned empty (length 0).
    private mutating func nextPacket(into chain: DescriptorChain, keys: inout [VsockConnectionKey], memory: GuestMemory)
        throws(DescriptorChainError) -> UInt32?
    {
        guard chain.writableLength >= UInt64(VsockPacketHeader.size) else { return 0 }
        if !pendingResets.isEmpty {
            try pendingResets.removeFirst().write(to: chain, memory: memory)
            return UInt32(VsockPacketHeader.size)
        }
        guard !connections.isEmpty else { return nil }
        if keys.isEmpty { keys = Array(connections.keys) }
        for step in 0..<keys.count {
            let key = keys[(receiveCursor &+ step) % keys.count]
            guard let index = connections.index(forKey: key) else { continue }
            let produced = try connections.values[index].nextPacket(
                into: chain, guestCID: guestCID, maximumPayload: VirtioVsock.maximumPayload, memory: memory)
            switch produced {
            case .nothing:
                continue
            case .packet(let length):
                receiveCursor = (receiveCursor &+ step &+ 1) % keys.count
                return length
            case .finalReset(let length):
                removeConnection(key, notifyGuest: false)
                receiveCursor = (receiveCursor &+ step &+ 1) % keys.count
                return length
            }
        }
        return nil
    }
}
