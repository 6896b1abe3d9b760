/// Composes the guest kernel command line from the user's and the host profile's arguments.
public enum GuestCommandLine {
    /// Host arguments come first so the user's later ones win where the kernel takes the last value;
    /// a host argument whose key the user already gave is left out. Device announcements
    /// (`virtio_mmio.device=…`, one per device, all kept) come last.
    public static func compose(user: String, host: HostProfile, devices: [String] = []) -> String {
        let userArguments = user.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let userKeys = Set(userArguments.map(key))
        let hostArguments = host.guestKernelArguments.filter { !userKeys.contains(key($0)) }
        return (hostArguments + userArguments + devices).joined(separator: " ")
    }

    static func key(_ argument: String) -> String {
        String(argument.split(separator: "=", maxSplits: 1).first ?? Substring(argument))
    }
}
