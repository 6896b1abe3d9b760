/// The console escape sequence, as QEMU's: Ctrl-A then a command key. Ctrl-A x quits, Ctrl-A Ctrl-A
/// (or Ctrl-A a) sends a literal Ctrl-A, Ctrl-A h prints help. A pure state machine over input bytes.
public struct ConsoleEscape: Sendable {
    public static let prefix: UInt8 = 0x01  // Ctrl-A

    public enum Action: Equatable, Sendable {
        case quit
        case help
    }

    private var pendingPrefix = false

    public init() {}

    /// Splits input into bytes for the guest and an action, if an escape command appeared. Bytes after
    /// a quit are dropped.
    public mutating func filter(_ input: some Sequence<UInt8>) -> (forward: [UInt8], action: Action?) {
        var forward: [UInt8] = []
        for byte in input {
            if pendingPrefix {
                pendingPrefix = false
                switch byte {
                case UInt8(ascii: "x"), UInt8(ascii: "X"): return (forward, .quit)
                case UInt8(ascii: "h"), UInt8(ascii: "?"): return (forward, .help)
                case Self.prefix, UInt8(ascii: "a"): forward.append(Self.prefix)
                default: forward.append(byte)  // unknown command: pass the key through
                }
            } else if byte == Self.prefix {
                pendingPrefix = true
            } else {
                forward.append(byte)
            }
        }
        return (forward, nil)
    }

    public static let helpText = "\r\nC-a x  quit\r\nC-a a  send C-a\r\nC-a h  this help\r\n"
}
