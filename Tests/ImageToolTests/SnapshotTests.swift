import Foundation
import Testing

/// `snapshot`: snapshots made by swiftvirt-img are listed, applied and deleted by qemu-img and the other
/// way round; listings and errors match qemu-img's.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct SnapshotTests {
    @Test func oursAreAppliedByQemuImg() throws {
        let scratch = try Scratch()
        let directory = try scratch.directory("work")
        let image = directory + "/" + (try Fixtures.data(in: directory))
        let before = scratch.file("before.raw")
        try ToolProcess.qemuSucceeds("convert", "-O", "raw", image, before)
        let created = try ToolProcess.ours(["snapshot", "-c", "ours", image])
        #expect(created.status == 0 && created.stdout.isEmpty && created.stderr.isEmpty, "\(created)")
        try ToolProcess.qemuIo(image, "write -P 0x99 0 2M")
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", image]).status == 0)
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["compare", image, before]).status == 1)
        // qemu-img lists it exactly as we do, and goes back to it.
        let listing = try ToolProcess.qemu(["snapshot", "-l", image])
        #expect(listing.stdout.contains(" ours "))
        #expect(try ToolProcess.ours(["snapshot", "-l", image]).stdout == listing.stdout)
        try ToolProcess.qemuSucceeds("snapshot", "-a", "ours", image)
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["compare", image, before]).status == 0)
        try ToolProcess.qemuSucceeds("snapshot", "-d", "ours", image)
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", image]).status == 0)
    }

    @Test func qemuImgsAreAppliedByUs() throws {
        let scratch = try Scratch()
        let directory = try scratch.directory("work")
        let image = directory + "/" + (try Fixtures.data(in: directory))
        let before = scratch.file("before.raw")
        try ToolProcess.qemuSucceeds("convert", "-O", "raw", image, before)
        try ToolProcess.qemuSucceeds("snapshot", "-c", "theirs", image)
        try ToolProcess.qemuIo(image, "write -P 0x99 1M 3M", "write -z 15M 512k")
        let applied = try ToolProcess.ours(["snapshot", "-a", "theirs", image])
        #expect(applied.status == 0, "\(applied)")
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["compare", image, before]).status == 0)
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", image]).status == 0)
        // By ID too, then deleted by name.
        #expect(try ToolProcess.ours(["snapshot", "-a", "1", image]).status == 0)
        let deleted = try ToolProcess.ours(["snapshot", "-d", "theirs", image])
        #expect(deleted.status == 0, "\(deleted)")
        #expect(try ToolProcess.qemu(["snapshot", "-l", image]).stdout.isEmpty)
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", image]).status == 0)
    }

    /// A deliberate difference: qemu-img adds a second snapshot with an existing name (only IDs are
    /// unique in QEMU); the DiskImage library keeps names unique, so this is refused.
    @Test func refusesADuplicateName() throws {
        let scratch = try Scratch()
        let directory = try scratch.directory("work")
        let image = directory + "/" + (try Fixtures.snapshots(in: directory))
        let outcome = try ToolProcess.ours(["snapshot", "-c", "first", image])
        #expect(outcome.status == 1)
        #expect(
            outcome.stderr
                == "swiftvirt-img: Could not create snapshot 'first': a snapshot with this name already exists\n")
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", image]).status == 0)
    }

    @Test func listsAndFailsLikeQemuImg() throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        try Fixtures.snapshots(in: fixtures)
        try Fixtures.raw(in: fixtures)
        let files = ["snapshots.qcow2", "disk.raw"]
        let cases: [[String]] = [
            ["-l", "snapshots.qcow2"], ["-c", "third", "snapshots.qcow2"], ["-a", "nope", "snapshots.qcow2"],
            ["-d", "nope", "snapshots.qcow2"], ["-a", "first", "snapshots.qcow2"], ["-a", "2", "snapshots.qcow2"],
            ["-d", "1", "snapshots.qcow2"], ["-d", "first", "snapshots.qcow2"], ["-l", "disk.raw"],
            ["-c", "x", "disk.raw"], ["-d", "x", "disk.raw"], ["snapshots.qcow2"],
            ["-l", "-c", "x", "snapshots.qcow2"],
            ["-f", "raw", "-l", "snapshots.qcow2"], ["-l"], ["-lq", "snapshots.qcow2"],
        ]
        for arguments in cases {
            let run = try SideBySide.run(["snapshot"] + arguments, files: files, from: fixtures, in: scratch)
            run.expectIdenticalOutput("\(arguments)")
            let listing = try SideBySide.run(
                ["snapshot", "-l", "snapshots.qcow2"], files: files, from: fixtures, in: scratch)
            #expect(listing.ours.stdout == listing.qemu.stdout)
        }
    }
}
