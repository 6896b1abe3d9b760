import GuestMemory
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The shared core of a virtio-console device's single port (virtio 1.2 §5.3.6): state behind one lock,
/// the transmit path run on notifying threads and the input loop run by the device thread. The thread
/// holds only this object, never the device, so dropping the device can stop it.
///
/// Locking as for vsock: the lock is never held while polling or raising an interrupt, so `reset`
/// (under the transport's lock) cannot deadlock with the thread.
final class VirtioConsolePort: Sendable {
    /// Bytes at most handed to `output` in one call, so a huge guest buffer is never copied whole.
    static let outputChunk = 64 * 1024
    /// Bytes at most read from the input per receive buffer.
    static let inputChunk: UInt64 = 4096
    /// Most chains handled per transmit notification.
    static let maximumChainsPerCall = 65536

    let state: Mutex<VirtioConsoleState>
    private let memory: GuestMemory
    private let output: @Sendable ([UInt8]) -> Void

    init(state: VirtioConsoleState, memory: GuestMemory, output: @escaping @Sendable ([UInt8]) -> Void) {
        self.state = Mutex(state)
        self.memory = memory
        self.output = output
    }

    private enum Delivery {
        case nothing
        case usedBuffers(VirtioInterrupt)
        case broken(VirtioInterrupt, VirtqueueError)
    }

    /// The device thread: wait for input or a wakeup, move input into a receive buffer, raise the
    /// interrupt; until `stop`.
    func run() {
        var descriptors: [pollfd] = []
        while true {
            let running = state.withLock { state -> Bool in
                descriptors.removeAll(keepingCapacity: true)
                guard !state.isStopping, state.wakeDescriptor >= 0 else { return false }
                descriptors.append(pollfd(fd: state.wakeDescriptor, events: Int16(POLLIN), revents: 0))
                if state.wantsInput {
                    descriptors.append(pollfd(fd: state.inputDescriptor, events: Int16(POLLIN), revents: 0))
                }
                return true
            }
            guard running else { return }
            _ = HostIO.poll(&descriptors, timeoutMilliseconds: -1)
            let delivery = state.withLock { state -> Delivery in
                if descriptors[0].revents != 0 { HostIO.drain(eventFD: descriptors[0].fd) }
                guard descriptors.count > 1, descriptors[1].revents != 0, state.wantsInput else { return .nothing }
                do throws(VirtqueueError) {
                    return try Self.receiveInput(&state, memory: memory) ? .usedBuffers(state.interrupt) : .nothing
                } catch {
                    state.isBroken = true
                    return .broken(state.interrupt, error)
                }
            }
            switch delivery {
            case .nothing: break
            case .usedBuffers(let interrupt): interrupt.usedBuffers(queue: VirtioConsoleState.receiveQueue)
            case .broken(let interrupt, let error): interrupt.queueBroken(error)
            }
        }
    }

    /// One read of the input into a receive buffer. A single read call per round: the input may be a
    /// blocking terminal, and only the first read after poll is sure not to block.
    private static func receiveInput(_ state: inout VirtioConsoleState, memory: GuestMemory) throws(VirtqueueError)
        -> Bool
    {
        let index = VirtioConsoleState.receiveQueue
        guard let chain = try takeReceiveChain(&state, memory: memory) else {
            state.waitingForBuffers = true
            return false
        }
        guard chain.writableLength > 0 else {
            // Nothing can be written into it: give it back empty rather than hold it forever.
            try state.queues[index].addUsed(head: chain.headIndex, length: 0, memory: memory)
            return try state.queues[index].shouldInterrupt(memory: memory)
        }
        var reads = 0
        let input = state.inputDescriptor
        let result: HostTransfer
        do {
            result = try ChainHostTransfer.fill(
                chain, offset: 0, length: min(chain.writableLength, inputChunk), memory: memory
            ) { buffer in
                guard reads == 0 else { return .wouldBlock }
                reads += 1
                return HostIO.read(input, into: buffer)
            }
        } catch {
            throw VirtqueueError(receiveCopy: error, chain: chain)
        }
        switch result {
        case .transferred(let count) where count > 0:
            try state.queues[index].addUsed(head: chain.headIndex, length: UInt32(count), memory: memory)
            return try state.queues[index].shouldInterrupt(memory: memory)
        case .transferred, .wouldBlock:
            state.heldReceiveChain = chain
        case .endOfFile, .failed:
            // The guest keeps its console output; input simply ends.
            state.inputClosed = true
            state.heldReceiveChain = chain
        }
        return false
    }

    /// The held chain, else the next available one (asking for a notification when the ring is empty).
    private static func takeReceiveChain(_ state: inout VirtioConsoleState, memory: GuestMemory)
        throws(VirtqueueError) -> DescriptorChain?
    {
        if let chain = state.heldReceiveChain {
            state.heldReceiveChain = nil
            return chain
        }
        let index = VirtioConsoleState.receiveQueue
        if let chain = try state.queues[index].popAvailable(memory: memory) { return chain }
        guard state.queues[index].eventIndexEnabled else { return nil }
        try state.queues[index].setNotificationSuppression(false, memory: memory)
        return try state.queues[index].popAvailable(memory: memory)
    }

    /// A driver notification: transmit chains go to `output` in order; new receive buffers let the
    /// thread read input again.
    func processQueue(index: Int, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        try state.withLock { (state) throws(VirtqueueError) -> Bool in
            guard state.isActive, !state.isBroken, index >= 0, index < state.queues.count,
                state.queues[index].isReady
            else { return false }
            switch index {
            case VirtioConsoleState.transmitQueue:
                do throws(VirtqueueError) {
                    return try transmit(&state, memory: memory)
                } catch {
                    state.isBroken = true
                    throw error
                }
            default:
                if state.waitingForBuffers {
                    state.waitingForBuffers = false
                    state.wakeThread()
                }
                return false
            }
        }
    }

    private func transmit(_ state: inout VirtioConsoleState, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        let index = VirtioConsoleState.transmitQueue
        var added = false
        var handled = 0
        drain: while handled < Self.maximumChainsPerCall {
            while handled < Self.maximumChainsPerCall, let chain = try state.queues[index].popAvailable(memory: memory)
            {
                emit(chain, memory: memory)
                try state.queues[index].addUsed(head: chain.headIndex, length: 0, memory: memory)
                added = true
                handled += 1
            }
            guard state.queues[index].eventIndexEnabled, handled < Self.maximumChainsPerCall else { break drain }
            try state.queues[index].setNotificationSuppression(false, memory: memory)
            guard try state.queues[index].hasAvailable(memory: memory) else { break drain }
        }
        guard added else { return false }
        return try state.queues[index].shouldInterrupt(memory: memory)
    }

    /// Hands the chain's readable bytes to `output` in chunks. Writable buffers in a transmit chain are
    /// ignored (the spec has the driver put only readable ones there).
    private func emit(_ chain: DescriptorChain, memory: GuestMemory) {
        guard chain.readableLength > 0 else { return }
        try? chain.withBuffers(writable: false, offset: 0, length: chain.readableLength, memory: memory) { buffer in
            var start = 0
            while start < buffer.count {
                let end = min(start + Self.outputChunk, buffer.count)
                output(Array(buffer[start..<end]))
                start = end
            }
        }
    }
}
