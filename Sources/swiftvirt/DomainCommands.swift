import ArgumentParser
import LibvirtProtocol
import ManagementClient
import VMM

#if canImport(Glibc)
    import Glibc
#endif

/// Where the daemon listens; shared by every domain command.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The swiftvirtd socket (swiftvirtd --socket).", valueName: "path"))
    var connect: String = DaemonSocketPath.readWrite

    /// Runs `body` on an open connection. A failure prints libvirt's message, as virsh does, and
    /// exits 1.
    func withClient<T>(_ body: (RemoteClient) throws(ClientError) -> T) throws -> T {
        do {
            let client = try RemoteClient(socketPath: connect)
            defer { client.close() }
            return try body(client)
        } catch {
            printError(error)
            throw ExitCode.failure
        }
    }
}

/// The daemon's socket and one domain, by name: what every per-domain command takes.
struct DomainTarget: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The domain's name.")
    var name: String

    /// Looks the domain up and runs `body` with it; failures as `ConnectionOptions.withClient`.
    func withDomain<T>(_ body: (RemoteClient, RemoteDomain) throws(ClientError) -> T) throws -> T {
        try connection.withClient { client throws(ClientError) in try body(client, client.lookup(name: name)) }
    }
}

func printError(_ error: ClientError) {
    let line = Array("error: \(error)\n".utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// A domain XML file's text; larger than the protocol's string limit is refused here.
private func readXMLFile(_ path: String) throws -> String {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        guard count >= 0 else { throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))") }
        if count == 0 { break }
        bytes.append(contentsOf: chunk.prefix(count))
        guard bytes.count <= RPCLimits.maxStringLength else {
            throw ValidationError("\(path) is larger than a domain definition may be (4 MiB)")
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List running domains (with --all, every domain).")

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Include domains that are not running.")
    var all = false

    func run() throws {
        let listings = try connection.withClient { client throws(ClientError) in
            try client.listDomains(includeInactive: all)
        }
        print(Self.table(listings), terminator: "")
    }

    /// `virsh list`'s layout: id, name and state columns under a rule.
    static func table(_ listings: [DomainListing]) -> String {
        let rows = listings.map { ($0.domain.id > 0 ? "\($0.domain.id)" : "-", $0.domain.name, $0.state.displayName) }
        let idWidth = rows.map(\.0.count).max().map { max($0, 2) } ?? 2
        let nameWidth = rows.map(\.1.count).max().map { max($0, 4) } ?? 4
        func line(_ id: String, _ name: String, _ state: String) -> String {
            " " + id.padding(idWidth) + "   " + name.padding(nameWidth) + "   " + state + "\n"
        }
        var text = line("Id", "Name", "State")
        text += String(repeating: "-", count: 1 + idWidth + 3 + nameWidth + 3 + "State".count + 2) + "\n"
        for row in rows { text += line(row.0, row.1, row.2) }
        return text + "\n"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - count))
    }
}

struct Define: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Define (or redefine) a domain from libvirt domain XML.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The domain XML file.")
    var file: String

    func run() throws {
        let xml = try readXMLFile(file)
        let domain = try connection.withClient { client throws(ClientError) in try client.define(xml: xml) }
        print("Domain '\(domain.name)' defined from \(file)")
    }
}

struct Undefine: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a domain's definition (a running domain keeps running, transient).")

    @OptionGroup var target: DomainTarget

    func run() throws {
        try target.withDomain { client, domain throws(ClientError) in try client.undefine(domain) }
        print("Domain '\(target.name)' has been undefined")
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a defined domain.")

    @OptionGroup var target: DomainTarget

    func run() throws {
        _ = try target.withDomain { client, domain throws(ClientError) in try client.start(domain) }
        print("Domain '\(target.name)' started")
    }
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a domain's guest to power off (ACPI power button); --force stops it at once.")

    @OptionGroup var target: DomainTarget

    @Flag(help: "Stop the machine at once, as pulling the plug (virsh destroy).")
    var force = false

    func run() throws {
        try target.withDomain { client, domain throws(ClientError) in
            if force { try client.destroy(domain) } else { try client.shutdown(domain) }
        }
        print(force ? "Domain '\(target.name)' destroyed" : "Domain '\(target.name)' is being shutdown")
    }
}

struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach this terminal to a running domain's serial console.",
        discussion: "The terminal is raw: every key goes to the guest. Ctrl-] leaves.")

    @OptionGroup var target: DomainTarget

    func run() throws {
        try target.withDomain { client, domain throws(ClientError) in
            // Straight to the descriptor: stdout's buffer would hold it behind the console's output.
            let banner = Array("Connected to domain '\(domain.name)'\nEscape character is ^] (Ctrl + ])\n".utf8)
            _ = banner.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            // Fully raw, as virsh: the guest's own "\r\n" reaches the terminal unchanged.
            let terminal = TerminalMode(fd: STDIN_FILENO, keepOutputProcessing: false)
            defer {
                terminal?.restore()
                _ = write(STDOUT_FILENO, "\n", 1)
            }
            _ = try client.runConsole(domain, input: STDIN_FILENO, output: STDOUT_FILENO)
        }
    }
}
