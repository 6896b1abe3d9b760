import GuestMemory
import Synchronization

/// A virtio console device (virtio 1.2 §5.3, device ID 3) with one port and no MULTIPORT: receiveq0 carries
/// host input to the guest, transmitq0 guest output to the host. Linux makes it `hvc0` (`console=hvc0`).
///
/// Output: every transmit chain's bytes go to `output`, in order, on the vCPU thread that notified.
/// Input: a device thread (from `init` until `stop`) polls the host descriptor `input` and reads it
/// straight into receive buffers, raising the interrupt. When the guest has no receive buffer, input is
/// left in the host descriptor until it adds one. End of file on `input` ends input, not the device.
///
/// No optional feature is offered: without VIRTIO_CONSOLE_F_SIZE the guest ignores cols/rows, without
/// F_MULTIPORT there are no control queues, without F_EMERG_WRITE no emerg_wr. Config reads as zeroes.
public final class VirtioConsole: VirtioDevice {
    /// Virtio device ID of a console (§5).
    public static let consoleDeviceID: UInt32 = 3
    /// Queue Size offered to the driver.
    public static let queueSize: UInt16 = 256

    public let deviceID: UInt32 = VirtioConsole.consoleDeviceID
    public let deviceFeatures: UInt64 = VirtioFeature.version1 | VirtioFeature.eventIndex
    public let queueCount = 2
    public let maxQueueSize: UInt16 = VirtioConsole.queueSize

    private let port: VirtioConsolePort
    private let thread: Mutex<DeviceThread?>

    /// - Parameters:
    ///   - memory: guest RAM; the input thread writes receive buffers there.
    ///   - input: a host descriptor to read guest input from (a terminal, pipe or socket), or nil. It
    ///     stays the caller's: it is not closed, must stay open until `stop`, and must have no other reader.
    ///   - output: receives the guest's console output.
    public init(memory: GuestMemory, input: Int32?, output: @escaping @Sendable ([UInt8]) -> Void)
        throws(HostIOError)
    {
        let wake = try HostIO.makeEventFD()
        let port = VirtioConsolePort(
            state: VirtioConsoleState(inputDescriptor: input ?? -1, wakeDescriptor: wake), memory: memory,
            output: output)
        self.port = port
        do {
            thread = Mutex(try DeviceThread(name: "virtio-console") { port.run() })
        } catch {
            HostIO.close(wake)
            throw .threadCreation(errno: error.errno)
        }
    }

    deinit {
        stop()
    }

    /// Joins the input thread and releases its eventfd. Idempotent. Call it outside the transport's lock
    /// (at machine teardown): the thread may be waiting for that lock to raise an interrupt.
    public func stop() {
        guard let running = thread.withLock({ $0.take() }) else { return }
        port.state.withLock { state in
            state.reset()
            state.isStopping = true
            state.wakeThread()
        }
        running.join()
        port.state.withLock { state in
            HostIO.close(state.wakeDescriptor)
            state.wakeDescriptor = -1
        }
    }

    /// struct virtio_console_config (§5.3.4): cols, rows, max_nr_ports, emerg_wr — none offered, all 0.
    public func readConfig(offset: UInt64, size: Int) -> UInt64 { 0 }

    /// Nothing is writable without VIRTIO_CONSOLE_F_EMERG_WRITE.
    public func writeConfig(offset: UInt64, size: Int, value: UInt64) {}

    public func activate(features: UInt64, queues: [SplitVirtqueue], interrupt: VirtioInterrupt) {
        port.state.withLock { $0.activate(queues: queues, interrupt: interrupt) }
    }

    public func processQueue(index: Int, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        try port.processQueue(index: index, memory: memory)
    }

    /// Forgets the queues; does not wait for the input thread, which touches them only under the lock
    /// taken here.
    public func reset() {
        port.state.withLock { $0.reset() }
    }
}
