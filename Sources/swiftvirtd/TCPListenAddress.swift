/// `--listen-tcp [ADDRESS:]PORT`: where the TCP listener binds. Without an address it is the loopback
/// 127.0.0.1, so exposing the port beyond the host takes an explicit address. An IPv6 address goes in
/// brackets (`[::1]:16509`).
struct TCPListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// libvirtd's TCP port (libvirtd.conf `tcp_port`).
    static let libvirtPort = 16509
    static let defaultHost = "127.0.0.1"

    var host: String
    var port: Int

    init(host: String = TCPListenAddress.defaultHost, port: Int) {
        self.host = host
        self.port = port
    }

    /// Why a `--listen-tcp` value was refused.
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    init(parsing text: String) throws(ParseError) {
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ParseError(description: "--listen-tcp: write an IPv6 address as [ADDRESS]:PORT, got '\(text)'")
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else {
                throw ParseError(description: "--listen-tcp: write an IPv6 address as [ADDRESS]:PORT, got '\(text)'")
            }
        } else {
            host = Self.defaultHost
            portText = Substring(text)
        }
        guard !host.isEmpty else { throw ParseError(description: "--listen-tcp: the address before ':' is empty") }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw ParseError(
                description: "--listen-tcp: the port must be a number from 1 to 65535 (libvirt's is "
                    + "\(Self.libvirtPort)), got '\(portText)'")
        }
        self.port = port
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
