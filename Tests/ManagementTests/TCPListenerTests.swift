import Foundation
import Testing

@testable import Management
@testable import swiftvirtd

/// A loopback TCP port nobody listens on now: the kernel picks one for a socket bound to port 0,
/// which is closed again (a small window in which another process could take it).
func unusedLoopbackPort() throws -> Int {
    try withLoopbackSocket(port: 0) { descriptor in
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func loopbackAccepts(port: Int) -> Bool {
    (try? withLoopbackSocket(port: nil) { descriptor in
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }) ?? false
}

private func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

/// A TCP socket, bound to 127.0.0.1:`port` unless `port` is nil, for `body`.
private func withLoopbackSocket<T>(port: Int?, _ body: (Int32) throws -> T) throws -> T {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(descriptor) }
    if let port {
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
    return try body(descriptor)
}

/// `swiftvirtd --listen-tcp`: stock virsh over `qemu+tcp://`, and the refusals around it.
@Suite("swiftvirtd's TCP listener, driven by stock virsh")
struct TCPListenerTests {
    /// Starts the daemon with a TCP listener on a free loopback port (plus `extra`) and waits until
    /// the port accepts connections; `body` gets the daemon and the qemu+tcp URI.
    static func withTCPDaemon(
        _ extra: [String], _ body: (DaemonProcess, String) async throws -> Void
    ) async throws {
        try await withFixture { fixture in
            let daemon = DaemonProcess(fixture: fixture)
            do {
                let port = try unusedLoopbackPort()
                try await daemon.start(extraArguments: ["--listen-tcp", "127.0.0.1:\(port)"] + extra)
                #expect(await fixture.eventually(10) { loopbackAccepts(port: port) }, "\(daemon.daemonLog())")
                try await body(daemon, "qemu+tcp://127.0.0.1:\(port)/system")
            } catch {
                try? await daemon.kill9()
                Issue.record("daemon log:\n\(daemon.daemonLog())")
                throw error
            }
            try await daemon.stop()
        }
    }

    @Test("with --tcp-auth none, virsh over qemu+tcp lists, defines and starts domains; the daemon warns")
    func readWrite() async throws {
        try await Self.withTCPDaemon(["--tcp-auth", "none"]) { daemon, uri in
            let path = try VirshDaemonTests.guestFile(daemon.fixture)
            let define = try await daemon.virsh(["define", path], uri: uri)
            #expect(define.status == 0, "\(define)")
            let start = try await daemon.virsh(["start", "guest1"], uri: uri)
            #expect(start.status == 0, "\(start)")
            let list = try await daemon.virsh(["list", "--all"], uri: uri)
            #expect(list.status == 0 && list.output.contains(" 1    guest1   running"), "\(list)")
            // The same daemon on its UNIX socket sees what TCP did.
            #expect(try await daemon.virsh("list").output.contains(" 1    guest1   running"))
            #expect(try await daemon.virsh(["destroy", "guest1"], uri: uri).status == 0)
            #expect(daemon.daemonLog().contains("TCP without authentication: anyone who can reach 127.0.0.1:"))
            #expect(daemon.daemonLog().contains("controls every VM"))
        }
    }

    @Test("with --tcp-readonly, virsh over qemu+tcp lists but may not define")
    func readOnly() async throws {
        try await Self.withTCPDaemon(["--tcp-auth", "none", "--tcp-readonly"]) { daemon, uri in
            let path = try VirshDaemonTests.guestFile(daemon.fixture)
            #expect(try await daemon.virsh("define", path).status == 0)
            let list = try await daemon.virsh(["list", "--all"], uri: uri)
            #expect(list.status == 0 && list.output.contains(" -    guest1   shut off"), "\(list)")
            let define = try await daemon.virsh(["define", path], uri: uri)
            #expect(define.status == 1)
            #expect(define.error.contains("read only access prevents"), "\(define)")
            let start = try await daemon.virsh(["start", "guest1"], uri: uri)
            #expect(start.status == 1 && start.error.contains("read only access prevents"), "\(start)")
        }
    }

    @Test("without --tcp-auth none the daemon refuses --listen-tcp: exit 1, a clear message, nothing served")
    func refusedWithoutAuthNone() async throws {
        try await withFixture { fixture in
            let daemon = DaemonProcess(fixture: fixture)
            let port = try unusedLoopbackPort()
            for extra in [[], ["--tcp-readonly"], ["--tcp-auth", "sasl"]] {
                let result = try await run(
                    try DaemonProcess.executable(), daemon.arguments(["--listen-tcp", String(port)] + extra),
                    environment: ["LC_ALL": "C", "PATH": "/usr/bin:/bin"])
                #expect(result.status == 1, "\(extra): \(result)")
                #expect(result.error.contains("swiftvirtd has no SASL") || result.error.contains("does not have"))
                #expect(!fixture.exists(daemon.socketPath) && !fixture.exists(fixture.paths.stateDirectory))
            }
            let plain = try await run(
                try DaemonProcess.executable(), daemon.arguments(["--listen-tcp", String(port)]),
                environment: ["LC_ALL": "C", "PATH": "/usr/bin:/bin"])
            #expect(plain.error.contains("Pass --tcp-auth none"), "\(plain)")
        }
    }

    @Test("--listen-tcp takes PORT, ADDRESS:PORT and [IPv6]:PORT; anything else is refused with the reason")
    func listenAddress() throws {
        #expect(try TCPListenAddress(parsing: "16509") == TCPListenAddress(host: "127.0.0.1", port: 16509))
        #expect(try TCPListenAddress(parsing: "0.0.0.0:1") == TCPListenAddress(host: "0.0.0.0", port: 1))
        let v6 = try TCPListenAddress(parsing: "[::1]:65535")
        #expect(v6 == TCPListenAddress(host: "::1", port: 65535) && v6.description == "[::1]:65535")
        for bad in ["", "0", "65536", "host:", ":80", "::1:80", "[::1]80", "[::1", "x:y"] {
            #expect(throws: TCPListenAddress.ParseError.self, "\(bad)") { try TCPListenAddress(parsing: bad) }
        }
    }
}
