import ArgumentParser

@main
struct SwiftVirt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftvirt",
        abstract: "A KVM virtual machine monitor, and a client of the swiftvirtd daemon.",
        discussion: """
            `run` boots a machine in this process. The other commands manage domains through swiftvirtd \
            (libvirt's remote protocol on its UNIX socket; --connect PATH picks the socket).
            """,
        subcommands: [Run.self, List.self, Define.self, Undefine.self, Start.self, Stop.self, Console.self])
}
