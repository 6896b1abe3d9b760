import GuestMemory
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The receive half of a virtio-net device (virtio 1.2 §5.1.6.3–5.1.6.4): a thread of its own waits with
/// poll(2) on the backend and a wake-up eventfd and copies each frame the backend delivers into buffers the
/// driver posted on the receive queue. A frame is read from the backend only when a buffer is there for
/// it; while none is, the backend is not polled and `buffersAdded` (the driver's notification) wakes the
/// thread.
///
/// Locks: every queue and guest-memory access, and every backend read, happens under `state`'s lock, so
/// once `stop` has taken it the stopped thread cannot touch the queue again. Interrupts are raised without
/// it: the transport takes its own lock to raise one, and calls `stop` (through `VirtioDevice.reset`) with
/// that lock held. So `stop` joins the thread only when it is not inside an interrupt call; when it is, the
/// thread is detached, finishes the call once the transport's lock is free (the transport drops the stale
/// interrupt), sees its generation is over and exits.
final class NetworkReceiver: Sendable {
    /// Most frames taken from the backend per wake-up, so the lock is released regularly.
    static let maximumFramesPerWakeup = 64
    /// Most chains taken from the queue per wake-up, so a driver refilling it from another vCPU cannot keep
    /// the thread here forever.
    static let maximumChainsPerWakeup = 1024

    private let backend: any NetworkBackend
    private let hasVnetHeader: Bool
    private let memory: GuestMemory
    private let wakeup: WakeupEvent
    /// Holds the frame being delivered; used only under `state`'s lock.
    private let frame: FrameBuffer
    private let state = Mutex(NetworkReceiveState())

    init(backend: any NetworkBackend, memory: GuestMemory) throws(SystemCallFailure) {
        self.backend = backend
        hasVnetHeader = backend.hasVnetHeader
        self.memory = memory
        wakeup = try WakeupEvent()
        frame = FrameBuffer(capacity: VirtioNetHeader.size + VirtioNet.maximumFrameLength)
    }

    /// Starts a receive thread for `queue` (stopping any previous one). Nothing starts when the driver did
    /// not make the queue ready. If the thread cannot be created, the device does not receive;
    /// `startFailure` says why.
    func start(queue: SplitVirtqueue, mergeable: Bool, offloads: NetworkOffloads, interrupt: VirtioInterrupt) {
        stop()
        guard queue.isReady else { return }
        state.withLock { state in
            state.generation &+= 1
            state.deactivate()
            state.isActive = true
            state.queue = queue
            state.mergeable = mergeable
            state.offloads = offloads
            state.backendFailed = false
            state.startFailure = nil
            state.reserved.reserveCapacity(Int(queue.size))
            let generation = state.generation
            do throws(SystemCallFailure) {
                // Created under the lock: the thread's first step waits until its state is complete.
                state.thread = try DeviceThread(name: "virtio-net-rx") { [self] in
                    run(generation: generation, interrupt: interrupt)
                }
            } catch {
                state.startFailure = error
                state.deactivate()
            }
        }
    }

    /// The driver added receive buffers (it notified queue 0).
    func buffersAdded() {
        wakeup.signal()
    }

    /// Stops the receive thread and forgets the queue; see the type's comment for when it is joined.
    func stop() {
        let (thread, interrupting) = state.withLock { state in
            let interrupting = state.interruptingGeneration == state.generation
            state.generation &+= 1
            state.deactivate()
            let thread = state.thread
            state.thread = nil
            return (thread, interrupting)
        }
        guard let thread else { return }
        wakeup.signal()
        if interrupting {
            thread.detach()
        } else {
            thread.join()
        }
    }

    var isRunning: Bool { state.withLock { $0.thread != nil } }
    var startFailure: SystemCallFailure? { state.withLock { $0.startFailure } }
    var droppedFrames: UInt64 { state.withLock { $0.droppedFrames } }
    var deliveredFrames: UInt64 { state.withLock { $0.deliveredFrames } }

    // MARK: - The receive thread

    private enum Step {
        case exit
        case wait(pollBackend: Bool)
        case interrupt(pollBackend: Bool)
        case broken(VirtqueueError)
    }

    private func run(generation: UInt64, interrupt: VirtioInterrupt) {
        while true {
            let step = state.withLock { state in self.step(&state, generation: generation) }
            var pollBackend = false
            switch step {
            case .exit:
                return
            case .wait(let poll):
                pollBackend = poll
            case .interrupt(let poll):
                interrupt.usedBuffers(queue: VirtioNet.receiveQueueIndex)
                guard finishInterrupt(generation: generation) else { return }
                pollBackend = poll
            case .broken(let error):
                interrupt.queueBroken(error)
                guard finishInterrupt(generation: generation) else { return }
            }
            if !waitForEvents(pollBackend: pollBackend) {
                state.withLock { state in
                    if state.generation == generation { state.backendFailed = true }
                }
            }
        }
    }

    /// One round of work under the lock.
    private func step(_ state: inout NetworkReceiveState, generation: UInt64) -> Step {
        guard state.generation == generation else { return .exit }
        // Consumed under the lock after the generation check, so a stopped thread never eats a wake-up
        // meant for its successor.
        wakeup.consume()
        guard state.isActive, !state.queueBroken else { return .wait(pollBackend: false) }
        do {
            let outcome = try deliver(&state)
            guard outcome.interrupt else { return .wait(pollBackend: outcome.pollBackend) }
            state.interruptingGeneration = generation
            return .interrupt(pollBackend: outcome.pollBackend)
        } catch {
            state.queueBroken = true
            state.interruptingGeneration = generation
            return .broken(error)
        }
    }

    /// Clears the interrupting mark; returns whether this generation is still current.
    private func finishInterrupt(generation: UInt64) -> Bool {
        state.withLock { state in
            if state.interruptingGeneration == generation { state.interruptingGeneration = nil }
            return state.generation == generation
        }
    }

    /// Waits until the wake-up event (or, with `pollBackend`, the backend) is readable. Returns false when
    /// the backend reports an error or hang-up with nothing left to read.
    private func waitForEvents(pollBackend: Bool) -> Bool {
        withUnsafeTemporaryAllocation(of: pollfd.self, capacity: 2) { descriptors in
            descriptors.initialize(repeating: pollfd(fd: wakeup.fileDescriptor, events: Int16(POLLIN), revents: 0))
            descriptors[1].fd = backend.fileDescriptor
            let result = poll(descriptors.baseAddress, pollBackend ? 2 : 1, -1)
            if result < 0, errno != EINTR {
                // Out of kernel memory, most likely: back off instead of spinning, then look again.
                usleep(1000)
                return true
            }
            guard result > 0, pollBackend else { return true }
            let events = descriptors[1].revents
            return events & Int16(POLLIN) != 0 || events & Int16(POLLERR | POLLHUP | POLLNVAL) == 0
        }
    }

    // MARK: - Delivery (under the lock)

    private struct Work {
        var frames = 0
        var chains = 0
        var addedUsed = false
    }

    private struct Outcome {
        var interrupt: Bool
        var pollBackend: Bool
    }

    private enum Reservation {
        case reserved
        case noneAvailable
        case budgetSpent
    }

    /// Delivers frames until the backend has none, the driver has no buffer, or the per-wake-up budget is
    /// spent (then the thread wakes itself to continue after releasing the lock).
    private func deliver(_ state: inout NetworkReceiveState) throws(VirtqueueError) -> Outcome {
        var work = Work()
        var waitingForBuffers = false
        var moreWork = false
        deliverFrames: while true {
            guard work.frames < Self.maximumFramesPerWakeup else {
                moreWork = true
                break
            }
            if state.pendingLength == nil {
                guard !state.backendFailed else { break }
                if state.reserved.isEmpty {
                    switch try reserveChain(&state, &work) {
                    case .reserved: break
                    case .noneAvailable:
                        waitingForBuffers = true
                        break deliverFrames
                    case .budgetSpent:
                        moreWork = true
                        break deliverFrames
                    }
                }
                guard receiveFrame(&state) else { break }
                // Dropped frames count too, so a flood of bad frames is bounded as well.
                work.frames += 1
            }
            guard let length = state.pendingLength else { continue }

            // Gather chains until the frame fits; without MRG_RXBUF it must fit one chain (§5.1.6.3.1).
            var ringExhausted = false
            gather: while state.reservedBytes < UInt64(length), state.mergeable || state.reserved.isEmpty {
                switch try reserveChain(&state, &work) {
                case .reserved: continue
                case .noneAvailable: ringExhausted = true
                case .budgetSpent:
                    moreWork = true
                    break deliverFrames
                }
                break gather
            }
            if state.reservedBytes < UInt64(length) {
                // A frame that can never fit is dropped and its chains kept for the next one: one chain too
                // small without MRG_RXBUF, or every ring entry taken and still too small with it.
                let cannotFit =
                    state.mergeable
                    ? ringExhausted && state.reserved.count >= Int(state.queue.size) : !state.reserved.isEmpty
                guard cannotFit else {
                    waitingForBuffers = true
                    break
                }
                state.pendingLength = nil
                state.droppedFrames &+= 1
                continue
            }
            try writeFrame(&state, length: length)
            work.addedUsed = true
        }
        if moreWork { wakeup.signal() }
        let interrupt = work.addedUsed ? try state.queue.shouldInterrupt(memory: memory) : false
        return Outcome(interrupt: interrupt, pollBackend: !waitingForBuffers && !state.backendFailed)
    }

    /// Takes the next chain from the queue into `reserved`. Chains too small for the header are returned
    /// at once with used length 0 (the driver must post at least that much, §5.1.6.3.1).
    private func reserveChain(_ state: inout NetworkReceiveState, _ work: inout Work) throws(VirtqueueError)
        -> Reservation
    {
        while work.chains < Self.maximumChainsPerWakeup {
            var next = try state.queue.popAvailable(memory: memory)
            if next == nil {
                // Ask for a notification when the driver adds buffers, then look again: it may have added
                // some before it could see the request (§2.7.10).
                try state.queue.setNotificationSuppression(false, memory: memory)
                next = try state.queue.popAvailable(memory: memory)
            }
            guard let chain = next else { return .noneAvailable }
            work.chains += 1
            guard chain.writableLength >= UInt64(VirtioNetHeader.size) else {
                try state.queue.addUsed(head: chain.headIndex, length: 0, memory: memory)
                work.addedUsed = true
                continue
            }
            state.reserved.append(chain)
            state.reservedBytes &+= chain.writableLength
            return .reserved
        }
        return .budgetSpent
    }

    /// Reads one frame from the backend into the frame buffer, behind room for the header when the backend
    /// has none. Returns false when no frame was waiting or the backend failed; true when one was read,
    /// whether it became pending or was dropped.
    private func receiveFrame(_ state: inout NetworkReceiveState) -> Bool {
        let headerRoom = hasVnetHeader ? 0 : VirtioNetHeader.size
        let area = UnsafeMutableRawBufferPointer(rebasing: frame.bytes[headerRoom...])
        let received: Int?
        do {
            received = try backend.receive(into: area)
        } catch {
            state.backendFailed = true
            return false
        }
        guard let received else { return false }
        let header = UnsafeMutableRawBufferPointer(rebasing: frame.bytes[0..<VirtioNetHeader.size])
        if headerRoom > 0 {
            for index in header.indices { header[index] = 0 }
        }
        guard received > VirtioNetHeader.size - headerRoom, received <= area.count,
            VirtioNetHeader.sanitizeReceived(header, offloads: state.offloads)
        else {
            state.droppedFrames &+= 1
            return true
        }
        state.pendingLength = headerRoom + received
        return true
    }

    /// Copies the pending frame into as many reserved chains as it needs, in order, writes num_buffers
    /// (1 without MRG_RXBUF, §5.1.6.4) and returns those chains as used. If guest memory fails under the
    /// copy, the chains are returned empty and the frame is dropped.
    private func writeFrame(_ state: inout NetworkReceiveState, length: Int) throws(VirtqueueError) {
        var count = 0
        var covered: UInt64 = 0
        while covered < UInt64(length), count < state.reserved.count {
            covered &+= state.reserved[count].writableLength
            count += 1
        }
        let header = UnsafeMutableRawBufferPointer(rebasing: frame.bytes[0..<VirtioNetHeader.size])
        VirtioNetHeader.setNumberOfBuffers(UInt16(clamping: count), in: header)

        var offset = 0
        var copied = true
        for chain in state.reserved.prefix(count) where copied {
            let piece = min(Int(clamping: chain.writableLength), length - offset)
            do {
                try chain.write(
                    UnsafeRawBufferPointer(rebasing: frame.bytes[offset..<(offset + piece)]), at: 0, memory: memory)
            } catch {
                copied = false
            }
            offset += piece
        }
        offset = 0
        for index in 0..<count {
            let chain = state.reserved[index]
            let piece = min(Int(clamping: chain.writableLength), length - offset)
            offset += piece
            try state.queue.addUsed(head: chain.headIndex, length: copied ? UInt32(piece) : 0, memory: memory)
        }
        state.reserved.removeFirst(count)
        state.reservedBytes &-= covered
        state.pendingLength = nil
        if copied {
            state.deliveredFrames &+= 1
        } else {
            state.droppedFrames &+= 1
        }
    }
}
