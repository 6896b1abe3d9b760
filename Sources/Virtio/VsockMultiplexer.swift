import GuestMemory
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The shared core of a virtio-vsock device: its state behind one lock, and the loop its thread runs.
/// The thread holds only this object, never the device, so dropping the device can stop the thread.
///
/// Locking: the lock is held for queue and socket work (all non-blocking) and never while waiting in
/// poll or while raising an interrupt, so `reset` (which runs under the transport's lock and takes this
/// one) cannot deadlock with the thread, which takes the transport's lock only to raise interrupts.
final class VsockMultiplexer: Sendable {
    let state: Mutex<VsockState>
    private let memory: GuestMemory

    init(state: VsockState, memory: GuestMemory) {
        self.state = Mutex(state)
        self.memory = memory
    }

    /// What the thread must tell the driver after a round, outside the lock.
    private enum Delivery {
        case nothing
        case usedBuffers(VirtioInterrupt)
        case broken(VirtioInterrupt, VirtqueueError)
    }

    /// The device thread: wait for host sockets or a wakeup, handle them, fill receive buffers, raise the
    /// interrupt; until `stop`.
    func run() {
        var descriptors: [pollfd] = []
        var targets: [VsockPollTarget] = []
        while true {
            let running = state.withLock { $0.preparePoll(&descriptors, &targets) }
            guard running else { return }
            _ = HostIO.poll(&descriptors, timeoutMilliseconds: -1)
            let delivery = state.withLock { state -> Delivery in
                state.handleReadiness(descriptors, targets)
                do throws(VirtqueueError) {
                    return try state.fillReceiveQueue(memory: memory) ? .usedBuffers(state.interrupt) : .nothing
                } catch {
                    state.isBroken = true
                    return .broken(state.interrupt, error)
                }
            }
            switch delivery {
            case .nothing: break
            case .usedBuffers(let interrupt): interrupt.usedBuffers(queue: VsockState.receiveQueue)
            case .broken(let interrupt, let error): interrupt.queueBroken(error)
            }
        }
    }

    /// A driver notification on queue `index`, on the notifying thread. The transmit queue's packets are
    /// handled here (host sockets are non-blocking), then receive buffers are filled with the answers.
    /// Returns whether queue `index` needs an interrupt; packets received while handling the transmit
    /// queue raise the receive queue's own interrupt (with MSI-X it has a vector of its own).
    func processQueue(index: Int, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        let (interrupt, receiveInterrupt) = try state.withLock {
            (state) throws(VirtqueueError) -> (Bool, VirtioInterrupt?) in
            do throws(VirtqueueError) {
                var interrupt = false
                if index == VsockState.transmitQueue {
                    interrupt = try state.processTransmitQueue(memory: memory)
                } else if index != VsockState.receiveQueue {
                    // The event queue only holds buffers for events this device never sends.
                    return (false, nil)
                }
                // New receive buffers, or new packets due: fill now, and let the thread repoll (new
                // connections, buffered data, credit the guest granted).
                let received = try state.fillReceiveQueue(memory: memory)
                state.wakeThread()
                if index == VsockState.receiveQueue { return (received, nil) }
                return (interrupt, received ? state.interrupt : nil)
            } catch {
                state.isBroken = true
                throw error
            }
        }
        // Outside the lock: the handle takes the transport's lock, which a resetting vCPU holds while it
        // resets this device.
        receiveInterrupt?.usedBuffers(queue: VsockState.receiveQueue)
        return interrupt
    }
}
