import DomainXML
import Foundation
import LibvirtProtocol
import Testing

@testable import Management

@Suite("DomainStore: persistent definitions and autostart links")
struct DomainStoreTests {
    @Test("definitions and autostart marks survive a reload; files are 0600 and no temporary file is left")
    func roundTrip() async throws {
        try await withFixture { fixture in
            let store = DomainStore(paths: fixture.paths)
            try store.prepare()
            let first = try DomainDefinition.parse(fixture.xml(name: "alpha"))
            let second = try DomainDefinition.parse(fixture.xml(name: "beta"))
            try store.save(first)
            try store.save(second)
            try store.setAutostart("beta", true)

            let (loaded, problems) = store.loadAll()
            #expect(problems.isEmpty)
            #expect(loaded.map(\.definition) == [first, second])
            #expect(loaded.map(\.autostart) == [false, true])

            let domains = try FileManager.default.contentsOfDirectory(atPath: fixture.paths.domainsDirectory)
            #expect(domains.sorted() == ["alpha.xml", "beta.xml"])
            let attributes = try FileManager.default.attributesOfItem(atPath: fixture.paths.definitionFile("alpha"))
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: fixture.paths.autostartLink("beta"))
            #expect(link == "../domains/beta.xml")

            try store.setAutostart("beta", false)
            try store.remove(name: "alpha")
            let (after, _) = store.loadAll()
            #expect(after.map(\.definition.name) == ["beta"])
            #expect(after.map(\.autostart) == [false])
        }
    }

    @Test("a replaced definition is read back whole; an interrupted write leaves the old file intact")
    func atomicReplace() async throws {
        try await withFixture { fixture in
            let store = DomainStore(paths: fixture.paths)
            try store.prepare()
            var definition = try DomainDefinition.parse(fixture.xml(name: "gamma"))
            try store.save(definition)
            definition.virtualCPUs = 4
            try store.save(definition)
            // What a crash between creating the temporary file and the rename leaves behind.
            let temporary = fixture.paths.domainsDirectory + "/.gamma.xml.tmp"
            try "<domain type='kvm'><name>gam".write(toFile: temporary, atomically: false, encoding: .utf8)

            let (loaded, problems) = store.loadAll()
            #expect(problems.isEmpty)
            #expect(loaded.map(\.definition) == [definition])
            #expect(!fixture.exists(temporary), "the leftover temporary file is cleaned up")
        }
    }

    @Test("unreadable, invalid and misnamed files are skipped with a reason; the rest load")
    func hostileFiles() async throws {
        try await withFixture { fixture in
            let store = DomainStore(paths: fixture.paths)
            try store.prepare()
            let good = try DomainDefinition.parse(fixture.xml(name: "good"))
            try store.save(good)
            let directory = fixture.paths.domainsDirectory
            try "<domain><name>broken".write(toFile: directory + "/broken.xml", atomically: true, encoding: .utf8)
            try fixture.xml(name: "other").write(toFile: directory + "/misnamed.xml", atomically: true, encoding: .utf8)
            // Same UUID as "good" under another name.
            try fixture.xml(name: "twin", uuid: good.uuid.description)
                .write(toFile: directory + "/twin.xml", atomically: true, encoding: .utf8)
            try "not xml at all".write(toFile: directory + "/README", atomically: true, encoding: .utf8)

            let (loaded, problems) = store.loadAll()
            #expect(loaded.map(\.definition.name) == ["good"])
            #expect(problems.count == 3, "\(problems)")
            #expect(problems.contains { $0.contains("broken.xml") })
            #expect(problems.contains { $0.contains("it defines domain 'other', not 'misnamed'") })
            #expect(problems.contains { $0.contains("is already used by 'good'") })
        }
    }

    @Test("names that cannot be file names here are refused")
    func fileNames() throws {
        #expect(throws: ManagementError.self) { try DefinitionFileName.check(".hidden") }
        #expect(throws: ManagementError.self) { try DefinitionFileName.check(String(repeating: "x", count: 201)) }
        #expect(throws: ManagementError.self) { try DefinitionFileName.check("tab\there") }
        try DefinitionFileName.check("web-01 (prod)")
    }
}
