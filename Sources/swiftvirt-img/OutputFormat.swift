/// `--output=human|json`.
enum OutputFormat {
    case human
    case json

    static func parse(_ value: String?) throws(ToolError) -> OutputFormat {
        switch value {
        case nil, "human": return .human
        case "json": return .json
        default: throw ToolError("--output must be used with human or json as argument.")
        }
    }
}
