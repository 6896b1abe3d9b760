import CKVM
import KVM
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The machine's I/O thread: waits with epoll on event notifiers (KVM ioeventfds for virtio queue
/// notifications) and runs their handlers, so a vCPU that kicks a queue goes straight back into the
/// guest while the device works here.
///
/// Sources are added before `start()`; handlers run one at a time on the loop's thread, level-triggered:
/// a handler must consume its notifier.
final class IOEventLoop: Sendable {
    private let epollFD: Int32
    private let stopNotifier: EventNotifier
    private let handlers = Mutex<[Int32: @Sendable () -> Void]>([:])
    /// Notifiers kept alive while registered (the fd numbers index `handlers`).
    private let sources = Mutex<[EventNotifier]>([])
    private let thread = Mutex<HostThread?>(nil)

    static let maximumEventsPerWait = 16

    init() throws {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw VMMError.setup(step: "epoll_create1", underlying: SystemCallError(errno)) }
        epollFD = fd
        stopNotifier = try EventNotifier()
        try watch(stopNotifier.fd)
    }

    deinit {
        stop()
        close(epollFD)
    }

    /// Runs `handler` on the I/O thread whenever `notifier` is signalled; the loop consumes the counter
    /// before calling it.
    func add(_ notifier: EventNotifier, handler: @escaping @Sendable () -> Void) throws {
        sources.withLock { $0.append(notifier) }
        handlers.withLock {
            $0[notifier.fd] = {
                notifier.consume()
                handler()
            }
        }
        try watch(notifier.fd)
    }

    var isEmpty: Bool { sources.withLock { $0.isEmpty } }

    func start() throws {
        let loop = self
        let started = try HostThread(name: "io") { loop.run() }
        thread.withLock { $0 = started }
    }

    /// Stops the thread after the handler in progress and waits for it.
    func stop() {
        guard
            let running = thread.withLock({ state -> HostThread? in
                defer { state = nil }
                return state
            })
        else {
            return
        }
        stopNotifier.signal()
        running.join()
    }

    private func watch(_ fd: Int32) throws {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = fd
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
            throw VMMError.setup(step: "epoll_ctl", underlying: SystemCallError(errno))
        }
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: Self.maximumEventsPerWait)
        while true {
            let count = events.withUnsafeMutableBufferPointer {
                epoll_wait(epollFD, $0.baseAddress, Int32($0.count), -1)
            }
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            for event in events.prefix(Int(count)) {
                let fd = event.data.fd
                if fd == stopNotifier.fd { return }
                handlers.withLock { $0[fd] }?()
            }
        }
    }
}

/// An errno from a plain system call, printed with its meaning.
struct SystemCallError: Error, CustomStringConvertible {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { String(cString: strerror(code)) + " (errno \(code))" }
}
