/// A host client connected to the device's Unix socket that has not finished its "CONNECT <port>\n"
/// line yet (Firecracker docs/vsock.md, "Host-Initiated Connections").
struct VsockHandshake {
    /// "CONNECT 4294967295\n" is 19 bytes; a longer line is not a request.
    static let lineLimit = 32

    enum Progress: Equatable {
        /// More bytes are needed.
        case waiting
        /// The client asked for this guest port.
        case connect(port: UInt32)
        /// The line is malformed or the client went away: close it.
        case failed
    }

    let id: UInt64
    let socket: Int32
    var line: [UInt8] = []

    init(id: UInt64, socket: Int32) {
        self.id = id
        self.socket = socket
    }

    /// Reads what has arrived, one byte at a time so that data the client sends right after its line
    /// stays in the socket for the guest.
    mutating func advance() -> Progress {
        var byte: UInt8 = 0
        while line.count < Self.lineLimit {
            let result = withUnsafeMutableBytes(of: &byte) { HostIO.receive(socket, into: $0) }
            switch result {
            case .transferred:
                if byte == UInt8(ascii: "\n") {
                    guard let port = Self.parse(line) else { return .failed }
                    return .connect(port: port)
                }
                line.append(byte)
            case .wouldBlock:
                return .waiting
            case .endOfFile, .failed:
                return .failed
            }
        }
        return .failed
    }

    /// "CONNECT <decimal port>" (without the newline) → the port; anything else → nil.
    static func parse(_ line: [UInt8]) -> UInt32? {
        let prefix = Array("CONNECT ".utf8)
        guard line.count > prefix.count, line.count <= prefix.count + 10, line.starts(with: prefix) else {
            return nil
        }
        var port: UInt32 = 0
        for digit in line[prefix.count...] {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            let (times, overflow) = port.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt32(digit - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            port = sum
        }
        return port
    }
}
