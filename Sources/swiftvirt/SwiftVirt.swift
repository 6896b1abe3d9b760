import ArgumentParser

@main
struct SwiftVirt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftvirt",
        abstract: "A KVM virtual machine monitor.",
        subcommands: [Run.self])
}
