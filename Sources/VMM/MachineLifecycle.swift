import Synchronization

/// The stop protocol of one machine: the first outcome wins, then every vCPU is kicked out of KVM_RUN.
/// Exists before devices are built so power-off and reset devices can end the machine.
final class MachineLifecycle: Sendable {
    private let outcome = Mutex<MachineExit?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let kickers = Mutex<[@Sendable () -> Void]>([])
    /// Parks vCPUs while the machine is paused.
    let pauseGate = PauseGate()

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// How the machine ended; nil while it runs.
    var result: MachineExit? { outcome.withLock { $0 } }

    /// Registers a way to pull one vCPU thread out of KVM_RUN.
    func addKicker(_ kick: @escaping @Sendable () -> Void) {
        kickers.withLock { $0.append(kick) }
        if isStopping { kick() }
    }

    /// Records the first outcome and stops every vCPU. Later outcomes are ignored.
    func finish(_ exit: MachineExit) {
        outcome.withLock { current in
            if current == nil { current = exit }
        }
        stopping.store(true, ordering: .releasing)
        pauseGate.release()
        for kick in kickers.withLock({ $0 }) { kick() }
    }

    /// Parks every vCPU outside the guest (`vcpuCount` of them) and returns once they all are.
    func pause(vcpuCount: Int) {
        guard !isStopping else { return }
        pauseGate.close()
        for kick in kickers.withLock({ $0 }) { kick() }
        pauseGate.waitUntilParked(vcpuCount)
    }

    func resume() {
        pauseGate.open()
    }

    var isPaused: Bool { pauseGate.isClosed }
}
