import Foundation
import Testing

/// Runs one command line with qemu-img and with swiftvirt-img, each in its own copy of the same files,
/// so the outputs, exit statuses and resulting files can be compared.
struct SideBySide {
    var qemu: ToolProcess.Outcome
    var ours: ToolProcess.Outcome
    /// Where each tool ran (relative paths in `arguments` resolve there).
    let qemuDirectory: String
    let oursDirectory: String

    static func run(
        _ arguments: [String], files: [String], from source: String, in scratch: Scratch
    ) throws -> SideBySide {
        let tag = UUID().uuidString.prefix(8)
        let qemuDirectory = try scratch.copy(files, from: source, into: "qemu-\(tag)")
        let oursDirectory = try scratch.copy(files, from: source, into: "ours-\(tag)")
        return SideBySide(
            qemu: try ToolProcess.qemu(arguments, in: qemuDirectory),
            ours: try ToolProcess.ours(arguments, in: oursDirectory), qemuDirectory: qemuDirectory,
            oursDirectory: oursDirectory)
    }

    /// Same exit status, stdout and stderr (qemu-img's name replaced by ours).
    func expectIdenticalOutput(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(ours.status == qemu.status, "exit status \(comment?.description ?? "")", sourceLocation: sourceLocation)
        #expect(ours.stdout == qemu.stdout, "stdout \(comment?.description ?? "")", sourceLocation: sourceLocation)
        #expect(ours.stderr == qemu.stderr, "stderr \(comment?.description ?? "")", sourceLocation: sourceLocation)
    }

    /// `qemu-img compare` of the same file as left by each tool.
    func contentsMatch(_ name: String) throws -> Bool {
        try ToolProcess.run(ToolProcess.qemuImg, ["compare", qemuDirectory + "/" + name, oursDirectory + "/" + name])
            .status == 0
    }
}

/// JSON documents compared member by member, with named members allowed to differ.
enum JSONComparison {
    static func parse(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// Paths ("a.b[0].c") where `ours` differs from `expected`, skipping keys in `ignoring`.
    static func differences(_ ours: Any, _ expected: Any, ignoring: Set<String> = [], path: String = "") -> [String] {
        switch (ours, expected) {
        case (let left as [String: Any], let right as [String: Any]):
            var found: [String] = []
            for key in Set(left.keys).union(right.keys).sorted() where !ignoring.contains(key) {
                let child = path.isEmpty ? key : path + "." + key
                guard let a = left[key], let b = right[key] else {
                    found.append("\(child): present in \(left[key] == nil ? "qemu-img" : "swiftvirt-img") only")
                    continue
                }
                found += differences(a, b, ignoring: ignoring, path: child)
            }
            return found
        case (let left as [Any], let right as [Any]):
            guard left.count == right.count else { return ["\(path): \(left.count) vs \(right.count) elements"] }
            return zip(left, right).enumerated().flatMap {
                differences($0.element.0, $0.element.1, ignoring: ignoring, path: "\(path)[\($0.offset)]")
            }
        default:
            return "\(ours)" == "\(expected)" ? [] : ["\(path): \(ours) vs \(expected)"]
        }
    }
}
