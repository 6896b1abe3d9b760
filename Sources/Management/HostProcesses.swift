#if canImport(Glibc)
    import Glibc
#endif

/// How a process ended, when we are its parent and could reap it.
enum ProcessExitStatus: Hashable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// Decodes a wait(2) status word (the WIFEXITED / WEXITSTATUS / WTERMSIG layout, which Swift
    /// cannot import as macros).
    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// Whether a VMM process still runs.
enum ProcessCondition: Hashable, Sendable {
    case running
    /// Gone. The status is known only for our own children; an adopted process is reaped by its
    /// new parent, so nil.
    case exited(ProcessExitStatus?)
}

/// The fields of /proc/PID/stat the daemon uses (proc(5)).
struct ProcessStat: Hashable, Sendable {
    /// Field 3: R, S, D, Z (zombie), X (dead)...
    var state: Character
    /// Fields 14 and 15: user and system CPU time in clock ticks.
    var cpuTicks: UInt64
    /// Field 22: when the process started, in clock ticks after boot. With the pid it names one
    /// process for the life of the host, so a recycled pid is never mistaken for our VMM.
    var startTicks: UInt64

    /// Parses the single line of /proc/PID/stat. The command name (field 2) is in parentheses and
    /// may itself contain spaces and parentheses, so fields are counted from the last ')'.
    init?(line: String) {
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let user = UInt64(fields[11]),
            let system = UInt64(fields[12]), let start = UInt64(fields[19])
        else { return nil }
        let (ticks, overflow) = user.addingReportingOverflow(system)
        self.state = state
        self.cpuTicks = overflow ? UInt64.max : ticks
        self.startTicks = start
    }
}

/// The process calls of the management layer: the only place it spawns, signals, reaps and inspects
/// processes.
enum HostProcesses {
    /// POSIX_SPAWN_SETSID (glibc spawn.h since 2.26; not visible to Swift): the child calls setsid(),
    /// so it leads its own session and no terminal or process-group signal aimed at the daemon
    /// reaches it. That is what lets a VM outlive the daemon.
    private static let spawnSetSID: Int32 = 0x80

    /// Signals whose dispositions the daemon may have changed (it ignores SIGTERM and SIGINT to handle
    /// them itself); ignored dispositions survive exec, so the VMM gets the defaults back.
    private static let resetSignals = [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2]

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34), looked up at run time because Swift's
    /// Glibc module does not declare it. Closes every inherited descriptor from 3 up, in case one
    /// lacks O_CLOEXEC.
    private typealias AddCloseFrom =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) ->
        Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Starts `executable` detached: its own session, stdin from /dev/null, stdout and stderr appended
    /// to `logPath`, `passing` as descriptors 3, 4, ... (nothing else inherited), default signal
    /// handling and an empty signal mask. Returns its pid; the caller reaps it with
    /// `condition(of:startTicks:)`.
    static func spawnDetached(
        executable: String, arguments: [String], logPath: String, passing: [Int32] = []
    ) throws(SystemCallError) -> pid_t {
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard log >= 0 else { throw SystemCallError("open", logPath, errno: errno) }
        defer { close(log) }
        // Copies numbered above every target, so no dup2 below overwrites a descriptor still to be
        // passed; close-on-exec, so only the dup2'd targets reach the child.
        let firstInherited: Int32 = 3
        let firstUnused = firstInherited + Int32(passing.count)
        var sources: [Int32] = []
        defer { for source in sources { close(source) } }
        for descriptor in passing {
            let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, firstUnused)
            guard copy >= 0 else { throw SystemCallError("fcntl(F_DUPFD_CLOEXEC)", "\(descriptor)", errno: errno) }
            sources.append(copy)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, log, 1)
        posix_spawn_file_actions_adddup2(&actions, log, 2)
        for (offset, source) in sources.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, source, firstInherited + Int32(offset))
        }
        if let addCloseFrom { _ = addCloseFrom(&actions, firstUnused) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in resetSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        let flags = Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK) | spawnSetSID
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let result = (argv + [nil]).withUnsafeBufferPointer { pointers -> Int32 in
            guard let base = pointers.baseAddress else { return EINVAL }
            return posix_spawn(&pid, executable, &actions, &attributes, base, environ)
        }
        guard result == 0 else { throw SystemCallError("posix_spawn", executable, errno: result) }
        return pid
    }

    /// Runs a short host command (nft) to completion: spawned as `spawnDetached` does, output appended
    /// to `logPath`, then reaped.
    static func run(
        executable: String, arguments: [String], logPath: String
    ) throws(SystemCallError) -> ProcessExitStatus {
        let pid = try spawnDetached(executable: executable, arguments: arguments, logPath: logPath)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SystemCallError("waitpid", executable, errno: errno) }
        }
        return ProcessExitStatus(waitStatus: status)
    }

    /// Whether `pid` still runs. Our own children are reaped here (waitpid with WNOHANG, for that pid
    /// only: other children of this process are not ours to reap). A process we adopted is checked in
    /// /proc: gone, a zombie, or a different start time (the pid was recycled) all mean it ended.
    static func condition(of pid: pid_t, startTicks: UInt64?) -> ProcessCondition {
        guard pid > 0 else { return .exited(nil) }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, WNOHANG) } while result < 0 && errno == EINTR
        if result == pid { return .exited(ProcessExitStatus(waitStatus: status)) }
        if result == 0 { return .running }
        guard let stat = stat(of: pid) else { return .exited(nil) }
        if stat.state == "Z" || stat.state == "X" { return .exited(nil) }
        if let startTicks, stat.startTicks != startTicks { return .exited(nil) }
        return .running
    }

    static func stat(of pid: pid_t) -> ProcessStat? {
        guard pid > 0, let line = HostFiles.readText("/proc/\(pid)/stat", limit: 4096) else { return nil }
        return ProcessStat(line: line)
    }

    /// Nanoseconds of CPU time `pid` has used, from its clock ticks.
    static func cpuTime(of pid: pid_t) -> UInt64 {
        guard let stat = stat(of: pid) else { return 0 }
        let ticksPerSecond = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        let (nanoseconds, overflow) = stat.cpuTicks.multipliedReportingOverflow(by: 1_000_000_000 / ticksPerSecond)
        return overflow ? UInt64.max : nanoseconds
    }

    /// Sends `signal`; a process that is already gone is not an error.
    static func send(_ signal: Int32, to pid: pid_t) throws(SystemCallError) {
        guard pid > 0 else { return }
        guard kill(pid, signal) == 0 || errno == ESRCH else { throw SystemCallError("kill", "\(pid)", errno: errno) }
    }

    /// This boot of the host (/proc/sys/kernel/random/boot_id): a VMM recorded under another boot id
    /// died with the host, whatever its pid now names.
    static func bootID() -> String {
        let text = HostFiles.readText("/proc/sys/kernel/random/boot_id", limit: 128) ?? ""
        return text.filter { !$0.isWhitespace }
    }

    /// Whether this is the first call for `marker` since the host booted: the marker lives in a run
    /// directory, which a reboot empties, and is created here. A marker that cannot be written is
    /// reported to `notice` (the caller still goes ahead, once).
    static func firstTimeThisBoot(marker: String, notice: (String) -> Void) -> Bool {
        guard !HostFiles.exists(marker) else { return false }
        do {
            try HostFiles.writeAtomically(marker, Array("\(bootID())\n".utf8), mode: 0o644)
        } catch {
            notice("cannot record \(marker): \(error)")
        }
        return true
    }

    /// Seconds since the epoch.
    static func now() -> Int64 {
        Int64(time(nil))
    }

    /// "2026-11-21 10:00:00 UTC", for log lines.
    static func timestamp() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S UTC", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
