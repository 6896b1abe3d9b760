import Foundation
import GuestMemory
import Synchronization

@testable import Virtio

/// Records every level passed to an interrupt line.
final class InterruptRecorder: Sendable {
    private let levels = Mutex<[Bool]>([])

    var history: [Bool] { levels.withLock { $0 } }
    var level: Bool { levels.withLock { $0.last ?? false } }

    var line: @Sendable (Bool) -> Void {
        { [self] level in levels.withLock { $0.append(level) } }
    }
}

/// A device that records what the transport asks of it and answers queue processing as told.
final class FakeDevice: VirtioDevice {
    enum Outcome: Sendable {
        case interrupt(Bool)
        case fail(VirtqueueError)
    }

    struct Log: Sendable {
        var activations: [(features: UInt64, queues: [SplitVirtqueue])] = []
        var processed: [Int] = []
        var resets = 0
        var configWrites: [(offset: UInt64, size: Int, value: UInt64)] = []
        /// The handle of the latest activation, to act like a device thread.
        var interrupt: VirtioInterrupt?
    }

    let deviceID: UInt32 = 42
    let deviceFeatures: UInt64 = VirtioFeature.version1 | VirtioFeature.eventIndex | 1 << 5
    let queueCount = 2
    let maxQueueSize: UInt16 = 64
    private let state = Mutex((log: Log(), outcome: Outcome.interrupt(true)))

    var log: Log { state.withLock { $0.log } }

    func answer(_ outcome: Outcome) {
        state.withLock { $0.outcome = outcome }
    }

    func readConfig(offset: UInt64, size: Int) -> UInt64 {
        // Config byte i reads as 0x10 + i.
        var value: UInt64 = 0
        for lane in 0..<min(max(size, 0), 8) {
            value |= ((0x10 &+ offset &+ UInt64(lane)) & 0xFF) << UInt64(8 * lane)
        }
        return value
    }

    func writeConfig(offset: UInt64, size: Int, value: UInt64) {
        state.withLock { $0.log.configWrites.append((offset, size, value)) }
    }

    func activate(features: UInt64, queues: [SplitVirtqueue], interrupt: VirtioInterrupt) {
        state.withLock {
            $0.log.activations.append((features, queues))
            $0.log.interrupt = interrupt
        }
    }

    func processQueue(index: Int, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        let outcome = state.withLock { state in
            state.log.processed.append(index)
            return state.outcome
        }
        switch outcome {
        case .interrupt(let interrupt): return interrupt
        case .fail(let error): throw error
        }
    }

    func reset() {
        state.withLock { $0.log.resets += 1 }
    }
}

/// A sparse temporary file used as a raw disk image; removed on deinit.
final class TemporaryDiskImage {
    let path: String

    init(size: Int, contents: [UInt8] = []) throws {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("virtio-test-\(UUID().uuidString).img").path
        var data = Data(contents)
        if data.count < size { data.append(Data(count: size - data.count)) }
        try data.write(to: URL(fileURLWithPath: path))
    }

    func contents() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
