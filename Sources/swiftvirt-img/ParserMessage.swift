/// Rewords ArgumentParser's parse errors the way qemu-img's getopt handling words them.
enum ParserMessage {
    static func qemuStyle(_ message: String) -> String {
        let line = message.split(separator: "\n").first.map(String.init) ?? message
        if line.hasPrefix("Unknown option '"), let name = quoted(line) {
            return "unrecognized option '\(name)'"
        }
        if line.hasPrefix("Missing value for '"), let name = quoted(line) {
            return "missing argument for option '\(name.split(separator: " ").first.map(String.init) ?? name)'"
        }
        if line.hasPrefix("Unexpected argument '"), let value = quoted(line) {
            return "Unexpected argument: \(value)"
        }
        return line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line
    }

    /// The text between the first pair of single quotes.
    private static func quoted(_ line: String) -> String? {
        guard let open = line.firstIndex(of: "'") else { return nil }
        let rest = line[line.index(after: open)...]
        guard let close = rest.firstIndex(of: "'") else { return nil }
        return String(rest[..<close])
    }
}
