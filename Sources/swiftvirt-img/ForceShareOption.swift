import ArgumentParser

/// qemu-img's -U / --force-share: open the images sharing every permission, so they can be read while
/// another process (a running VM, a qemu-img writer) holds them. Read-only opens only.
struct ForceShareOption: ParsableArguments {
    @Flag(
        name: [.customShort("U"), .customLong("force-share")],
        help: "Open the image even if another process uses it (read-only).")
    var enabled = false
}
