/// Why a machine could not be built or could not keep running.
public enum VMMError: Error, CustomStringConvertible {
    case invalidConfiguration(String)
    case fileUnreadable(path: String, reason: String)
    case threadCreation(name: String, errno: Int32)
    case setup(step: String, underlying: any Error)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): return message
        case .fileUnreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .threadCreation(let name, let errno): return "cannot start thread \(name): errno \(errno)"
        case .setup(let step, let underlying): return "\(step): \(underlying)"
        }
    }
}
