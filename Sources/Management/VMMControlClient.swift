/// Why a control command did not succeed.
public enum VMMControlError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The socket could not be reached or the exchange failed (the VMM is gone or hung).
    case unreachable(SystemCallError)
    /// The VMM answered `error <text>`: it does not know or cannot do the command.
    case refused(command: String, reason: String)
    /// The VMM answered something the protocol does not define.
    case unexpectedReply(command: String, reply: String)

    public var description: String {
        switch self {
        case .unreachable(let error): return "the VMM's control socket did not answer: \(error)"
        case .refused(let command, let reason): return "the VMM refused '\(command)': \(reason)"
        case .unexpectedReply(let command, let reply): return "the VMM answered '\(command)' with '\(reply)'"
        }
    }
}

/// A client of one VMM's control socket (the protocol `swiftvirt run --control-socket` serves):
/// newline-terminated commands, one reply line each. `status` → `running` or `paused`; `pause`,
/// `resume` and `quit` → `ok` (after `quit` the VMM exits 0); anything unknown → `error <text>`.
/// Each command is its own connection, since the VMM serves one client at a time.
struct VMMControlClient: Sendable {
    enum RunState: Hashable, Sendable {
        case running
        case paused
    }

    let socketPath: String
    let timeoutMilliseconds: Int

    func status() async throws(VMMControlError) -> RunState {
        switch try await send("status") {
        case "running": return .running
        case "paused": return .paused
        case let reply: throw .unexpectedReply(command: "status", reply: reply)
        }
    }

    /// Sends a command whose success reply is `ok`.
    func command(_ command: String) async throws(VMMControlError) {
        let reply = try await send(command)
        guard reply == "ok" else { throw .unexpectedReply(command: command, reply: reply) }
    }

    /// The reply line, with `error <text>` turned into `.refused`.
    func send(_ command: String) async throws(VMMControlError) -> String {
        let path = socketPath
        let timeout = timeoutMilliseconds
        let reply: String
        do {
            reply = try await BlockingCall.run { () throws(SystemCallError) -> String in
                try UnixSocket.exchangeLine(path: path, command: command, timeoutMilliseconds: timeout)
            }
        } catch {
            throw .unreachable(error)
        }
        let trimmed = reply.hasSuffix("\r") ? String(reply.dropLast()) : reply
        if trimmed == "error" || trimmed.hasPrefix("error ") {
            throw .refused(command: command, reason: String(trimmed.dropFirst("error".count)).trimmingLeadingSpaces)
        }
        return trimmed
    }
}

extension String {
    var trimmingLeadingSpaces: String { String(drop { $0 == " " }) }
}
