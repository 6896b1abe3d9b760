import Foundation

/// Images the comparisons run on, made by qemu-img and qemu-io (QEMU 7.2) so both tools see files
/// neither of them wrote. Each builder writes into `directory` and returns the file name.
enum Fixtures {
    /// 16 MiB qcow2: data at 0 (128 KiB), a zero cluster at 1 MiB, a compressed cluster at 2 MiB, data at
    /// 15 MiB (1 MiB); the rest unallocated.
    @discardableResult
    static func data(in directory: String, name: String = "data.qcow2", options: String? = nil) throws -> String {
        let path = directory + "/" + name
        var arguments = ["create", "-q", "-f", "qcow2"]
        if let options { arguments += ["-o", options] }
        let outcome = try ToolProcess.run(ToolProcess.qemuImg, arguments + [path, "16M"])
        guard outcome.status == 0 else { throw ToolProcess.Failure("\(outcome)") }
        try ToolProcess.qemuIo(
            path, "write -P 0x11 0 128k", "write -z 1M 64k", "write -c -P 0x22 2M 64k", "write -P 0x44 15M 1M")
        return name
    }

    /// data.qcow2 plus an overlay with its own data and zeroes.
    @discardableResult
    static func overlay(in directory: String) throws -> String {
        try data(in: directory)
        try ToolProcess.qemuSucceeds(
            "create", "-q", "-f", "qcow2", "-b", "data.qcow2", "-F", "qcow2", directory + "/top.qcow2")
        try ToolProcess.qemuIo(directory + "/top.qcow2", "write -P 0x55 64k 64k", "write -z 3M 128k")
        return "top.qcow2"
    }

    /// A "fixtures" directory with data.qcow2, top.qcow2 (over it) and disk.raw; their names.
    static func overlayAndRaw(in scratch: Scratch) throws -> (directory: String, files: [String]) {
        let directory = try scratch.directory("fixtures")
        try overlay(in: directory)
        try raw(in: directory)
        return (directory, ["data.qcow2", "top.qcow2", "disk.raw"])
    }

    /// 4 MiB raw with data in its second MiB.
    @discardableResult
    static func raw(in directory: String, name: String = "disk.raw") throws -> String {
        try ToolProcess.qemuSucceeds("create", "-q", "-f", "raw", directory + "/" + name, "4M")
        try ToolProcess.qemuIo(directory + "/" + name, format: "raw", "write -P 1 1M 1M", "write -P 2 3M 4k")
        return name
    }

    /// A version 2 image with data in whole clusters. (A partly written last cluster leaves a hole in
    /// the host file; when QEMU's qcow2_detect_metadata_preallocation heuristic judges a file sparse
    /// enough, `qemu-img map` reports such holes inside data clusters as zero. swiftvirt-img reports
    /// the qcow2 mapping only.)
    @discardableResult
    static func version2(in directory: String) throws -> String {
        try ToolProcess.qemuSucceeds("create", "-q", "-f", "qcow2", "-o", "compat=0.10", directory + "/v2.qcow2", "2M")
        try ToolProcess.qemuIo(directory + "/v2.qcow2", "write -P 9 64k 192k")
        return "v2.qcow2"
    }

    /// 16 KiB clusters, extended L2 entries, zstd, lazy refcounts and 64-bit refcounts.
    @discardableResult
    static func features(in directory: String) throws -> String {
        let path = directory + "/features.qcow2"
        try ToolProcess.qemuSucceeds(
            "create", "-q", "-f", "qcow2", "-o",
            "cluster_size=16k,extended_l2=on,compression_type=zstd,lazy_refcounts=on,refcount_bits=64", path, "8M")
        try ToolProcess.qemuIo(path, "write -P 7 4k 8k", "write -c -P 8 1M 16k", "write -P 6 5M 100k")
        return "features.qcow2"
    }

    /// data.qcow2 with two internal snapshots and a change between them.
    @discardableResult
    static func snapshots(in directory: String) throws -> String {
        try data(in: directory, name: "snapshots.qcow2")
        let path = directory + "/snapshots.qcow2"
        try ToolProcess.qemuSucceeds("snapshot", "-c", "first", path)
        try ToolProcess.qemuIo(path, "write -P 0x66 0 64k")
        try ToolProcess.qemuSucceeds("snapshot", "-c", "second", path)
        return "snapshots.qcow2"
    }

    /// base.qcow2 ← mid.qcow2 ← chain.qcow2, each writing a different overlapping MiB.
    @discardableResult
    static func chain(in directory: String) throws -> [String] {
        try ToolProcess.qemuSucceeds("create", "-q", "-f", "qcow2", directory + "/base.qcow2", "16M")
        try ToolProcess.qemuIo(directory + "/base.qcow2", "write -P 1 0 1M")
        try ToolProcess.qemuSucceeds(
            "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", directory + "/mid.qcow2")
        try ToolProcess.qemuIo(directory + "/mid.qcow2", "write -P 2 512k 1M", "write -z 8M 64k")
        try ToolProcess.qemuSucceeds(
            "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", directory + "/chain.qcow2")
        try ToolProcess.qemuIo(directory + "/chain.qcow2", "write -P 3 1M 1M")
        return ["base.qcow2", "mid.qcow2", "chain.qcow2"]
    }
}
