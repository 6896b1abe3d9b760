import Foundation

/// A temporary directory, removed when released; tests run ours and qemu-img in sibling copies.
final class Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "imagetool-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// A new subdirectory.
    func directory(_ name: String) throws -> String {
        let directory = file(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Copies `names` (files or directories) from `source` into a new subdirectory `name`, keeping holes
    /// (block status, and so `map` and `compare -s`, depend on them).
    func copy(_ names: [String], from source: String, into name: String) throws -> String {
        let target = try directory(name)
        let outcome = try ToolProcess.run(
            "/bin/cp", ["-a", "--sparse=always"] + names.map { source + "/" + $0 } + [target])
        guard outcome.status == 0 else { throw ToolProcess.Failure("cp: \(outcome)") }
        return target
    }

    func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

}
