import Foundation
import LibvirtProtocol
import Logging
import Testing

@testable import swiftvirtd

/// Runs blocking work (child processes, blocking sockets) on a thread of its own. Not on Dispatch's
/// global queues: on Linux the Swift concurrency pool the in-process daemon runs on shares their
/// threads, and blocked work items would starve the server they are waiting for.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}

/// What a finished `virsh` printed.
struct VirshResult: Sendable, CustomStringConvertible {
    var status: Int32
    var output: String
    var error: String

    var description: String { "exit \(status)\nstdout:\n\(output)\nstderr:\n\(error)" }
}

/// A swiftvirtd server in this process, on sockets in a fresh temporary directory, with an
/// in-memory backend.
struct DaemonHarness: Sendable {
    static let virsh = "/usr/bin/virsh"
    static let host = HostDescription(
        hostname: "swiftvirt-test-host",
        nodeInfo: NodeInfoReply(
            model: "x86_64", memory: 8_388_608, cpus: 4, mhz: 2000, nodes: 1, sockets: 1, cores: 4, threads: 1),
        vmmExecutable: "/usr/libexec/swiftvirt-test")

    let directory: String
    let backend: InMemoryDomainBackend
    /// Events published here reach the server's connections as the backend's would.
    let events: DomainEventHub
    /// Storage pools kept under `directory`/state and `directory`/run.
    let storage: StoragePools
    var socketPath: String { directory + "/sock" }
    var readOnlySocketPath: String { directory + "/sock-ro" }

    /// The URI stock clients use to reach this server (libvirt's remote driver `socket` parameter).
    var uri: String { "qemu:///system?socket=\(socketPath)" }
    var readOnlyURI: String { "qemu:///system?socket=\(readOnlySocketPath)" }

    /// Starts a server, runs `body`, and stops the server whatever happens.
    static func withDaemon(_ body: (DaemonHarness) async throws -> Void) async throws {
        var template = Array("/tmp/svd-test-XXXXXX".utf8CString)
        let directory = try template.withUnsafeMutableBufferPointer { buffer -> String in
            guard let base = buffer.baseAddress, let result = mkdtemp(base) else { throw POSIXError(.EACCES) }
            return String(cString: result)
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = await StoragePools.open(
            paths: ManagementPaths(stateDirectory: directory + "/state", runDirectory: directory + "/run"))
        let harness = DaemonHarness(
            directory: directory, backend: InMemoryDomainBackend(), events: DomainEventHub(), storage: storage)
        var logger = Logger(label: "swiftvirtd-test")
        // SWIFTVIRTD_TEST_LOG=debug logs every call, e.g. to see which procedures a client uses.
        logger.logLevel =
            ProcessInfo.processInfo.environment["SWIFTVIRTD_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let server = RemoteServer(
            listeners: [.readWrite(harness.socketPath), .readOnly(harness.readOnlySocketPath)],
            backend: harness.backend, storage: harness.storage, events: harness.events, host: host, logger: logger)
        let (listening, listeningContinuation) = AsyncStream<Void>.makeStream()
        let serving = Task {
            try await server.run { listeningContinuation.yield() }
        }
        defer { serving.cancel() }
        var iterator = listening.makeAsyncIterator()
        _ = await iterator.next()
        do {
            try await body(harness)
        } catch {
            serving.cancel()
            _ = await serving.result
            throw error
        }
        serving.cancel()
        _ = await serving.result
    }

    /// Runs the stock virsh against this server.
    func virsh(_ arguments: String..., readOnlySocket: Bool = false) async throws -> VirshResult {
        try await virsh(arguments, readOnlySocket: readOnlySocket)
    }

    func virsh(_ arguments: [String], readOnlySocket: Bool = false) async throws -> VirshResult {
        try await run(Self.virsh, ["-c", readOnlySocket ? readOnlyURI : uri] + arguments)
    }

    /// Runs a python3 script with this server's URI as its first argument, then `arguments`.
    func python(_ script: String, _ arguments: String...) async throws -> VirshResult {
        let path = try file("script-\(UUID().uuidString).py", script)
        return try await run("/usr/bin/python3", [path, uri] + arguments)
    }

    /// Runs a client program to completion in the C locale with HOME in the harness directory.
    private func run(_ executable: String, _ arguments: [String]) async throws -> VirshResult {
        let home = directory
        return try await blocking {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = ["LC_ALL": "C", "HOME": home, "PATH": "/usr/bin:/bin"]
            let output = Pipe()
            let error = Pipe()
            process.standardOutput = output
            process.standardError = error
            process.standardInput = FileHandle.nullDevice
            try process.run()
            // Read before waiting so a full pipe cannot block the child.
            let outputData = output.fileHandleForReading.readDataToEndOfFile()
            let errorData = error.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return VirshResult(
                status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                error: String(decoding: errorData, as: UTF8.self))
        }
    }

    /// Writes `text` to a file in the harness directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
