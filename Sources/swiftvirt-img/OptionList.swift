/// The `-o name=value,...` lists qemu-img takes (QEMU's QemuOpts syntax): several -o are joined with
/// commas, ",," is a literal comma inside a value, a bare name means "on", and "help" or "?" asks for
/// the list of options. Later values win.
struct OptionList {
    private(set) var entries: [(name: String, value: String)] = []
    private(set) var wantsHelp = false

    init() {}

    /// Parses the -o arguments in order; a list ending in a lone comma is refused as qemu-img does.
    init(_ arguments: [String]) throws(ToolError) {
        for argument in arguments {
            guard Self.isValid(argument) else { throw ToolError("Invalid option list: \(argument)") }
            for item in Self.split(argument) {
                if item == "help" || item == "?" {
                    wantsHelp = true
                    continue
                }
                if let equals = item.firstIndex(of: "=") {
                    entries.append((String(item[..<equals]), String(item[item.index(after: equals)...])))
                } else {
                    entries.append((item, "on"))
                }
            }
        }
    }

    var isEmpty: Bool { entries.isEmpty && !wantsHelp }

    /// The last value given for `name`.
    func value(_ name: String) -> String? {
        entries.last { $0.name == name }?.value
    }

    func contains(_ name: String) -> Bool { value(name) != nil }

    /// Names in first-seen order, without repeats.
    var names: [String] {
        var seen: Set<String> = []
        return entries.map(\.name).filter { seen.insert($0).inserted }
    }

    mutating func set(_ name: String, _ value: String) {
        entries.append((name, value))
    }

    /// Drops every value of `name`.
    mutating func remove(_ name: String) {
        entries.removeAll { $0.name == name }
    }

    /// qemu-img's is_valid_option_list: no trailing single comma.
    private static func isValid(_ list: String) -> Bool {
        var commas = 0
        for character in list.reversed() {
            guard character == "," else { break }
            commas += 1
        }
        return commas % 2 == 0 && !list.isEmpty
    }

    /// Splits on single commas; ",," stays a comma.
    private static func split(_ list: String) -> [String] {
        var items: [String] = []
        var current = ""
        var characters = list[...]
        while let character = characters.first {
            characters = characters.dropFirst()
            if character == "," {
                if characters.first == "," {
                    current.append(",")
                    characters = characters.dropFirst()
                } else {
                    items.append(current)
                    current = ""
                }
            } else {
                current.append(character)
            }
        }
        items.append(current)
        return items.filter { !$0.isEmpty }
    }
}
