import DiskImage
import LibvirtProtocol
import Testing

@testable import Management

@Suite("storage pool and volume XML")
struct StoragePoolXMLTests {
    static let uuid = "6f0b1b6e-3c57-4d0c-9a38-2d9b8f6c1e01"

    @Test("what virsh pool-define-as sends parses; the target path is cleaned; the XML reads back the same")
    func poolRoundTrip() throws {
        let xml = """
            <pool type='dir'>
              <name>images</name>
              <uuid>\(Self.uuid)</uuid>
              <target>
                <path>//srv//images/./</path>
                <permissions><mode>0750</mode><owner>107</owner><group>-1</group><label>x_t</label></permissions>
              </target>
            </pool>
            """
        let pool = try StoragePoolDefinition.parse(xml)
        #expect(pool.name == "images")
        #expect(pool.uuid.description == Self.uuid)
        #expect(pool.targetPath == "/srv/images")
        #expect(pool.permissions == StoragePermissions(mode: 0o750, owner: 107, group: nil, label: "x_t"))
        let formatted = pool.xml(space: FileSystemSpace(capacity: 100, available: 40, allocation: 60))
        for fragment in [
            "<pool type='dir'>", "<capacity unit='bytes'>100</capacity>", "<allocation unit='bytes'>60</allocation>",
            "<available unit='bytes'>40</available>", "<path>/srv/images</path>", "<mode>0750</mode>",
            "<owner>107</owner>", "<label>x_t</label>",
        ] {
            #expect(formatted.contains(fragment), "missing \(fragment) in \(formatted)")
        }
        #expect(try StoragePoolDefinition.parse(formatted) == pool)
        // No uuid: a random one, as libvirt generates.
        let fresh = try StoragePoolDefinition.parse(
            "<pool type='dir'><name>n</name><target><path>/a</path></target></pool>")
        #expect(fresh.uuid != pool.uuid)
    }

    @Test(
        "invalid pool XML gets libvirt's error codes",
        arguments: [
            ("<pool type='fs'><name>f</name><target><path>/mnt</path></target></pool>", LibvirtErrorCode.noSupport),
            ("<pool type='netfs'><name>f</name></pool>", .noSupport),
            ("<pool type='bogus'><name>f</name></pool>", .configUnsupported),
            ("<pool><name>f</name></pool>", .xmlError),
            ("<pool type='dir'><target><path>/a</path></target></pool>", .xmlError),
            ("<pool type='dir'><name>a/b</name><target><path>/a</path></target></pool>", .xmlError),
            ("<pool type='dir'><name>n</name></pool>", .xmlError),
            ("<pool type='dir'><name>n</name><target><path>rel</path></target></pool>", .xmlError),
            ("<pool type='dir'><name>n</name><uuid>nope</uuid><target><path>/a</path></target></pool>", .xmlError),
            (
                "<pool type='dir'><name>n</name><target><path>/a</path><permissions><mode>999</mode></permissions>"
                    + "</target></pool>", .xmlError
            ),
            ("<volume><name>v</name></volume>", .xmlError),
            ("<pool type='dir'><name>n</name>", .xmlDetail),
            ("<!DOCTYPE pool [<!ENTITY x 'y'>]><pool type='dir'/>", .xmlDetail),
        ])
    func poolErrors(xml: String, code: LibvirtErrorCode) {
        #expect {
            try StoragePoolDefinition.parse(xml)
        } throws: { error in
            (error as? LibvirtError)?.code == code && (error as? LibvirtError)?.domain == .storage
        }
    }

    @Test("what virsh vol-create-as and virt-install send parses: sizes with units, format, permissions")
    func volumeParse() throws {
        let asVirsh = try StorageVolumeDefinition.parse(
            """
            <volume>
              <name>disk.qcow2</name>
              <capacity>1073741824</capacity>
              <target>
                <format type='qcow2'/>
              </target>
            </volume>
            """)
        #expect(asVirsh == StorageVolumeDefinition(name: "disk.qcow2", capacity: 1 << 30, format: .qcow2))
        let detailed = try StorageVolumeDefinition.parse(
            """
            <volume type='file'>
              <name>d</name><key>/ignored</key>
              <capacity unit='G'>2</capacity><allocation unit='M'>0</allocation>
              <target>
                <path>/ignored/too</path><format type='raw'/>
                <permissions><mode>0644</mode></permissions>
                <compat>0.10</compat><features><lazy_refcounts/></features>
              </target>
            </volume>
            """)
        #expect(detailed.capacity == 2 << 30)
        #expect(detailed.allocation == 0)
        #expect(detailed.format == .raw)
        #expect(detailed.permissions.mode == 0o644)
        #expect(detailed.compatibility == .v2)
        #expect(detailed.lazyRefcounts)
    }

    @Test(
        "invalid volume XML gets libvirt's error codes",
        arguments: [
            ("<volume><capacity>1</capacity></volume>", LibvirtErrorCode.xmlError),
            ("<volume><name>v</name></volume>", .xmlError),
            ("<volume><name>v</name><capacity unit='Q'>1</capacity></volume>", .invalidArgument),
            ("<volume><name>v</name><capacity>-1</capacity></volume>", .xmlError),
            ("<volume><name>v</name><capacity unit='E'>99</capacity></volume>", .overflow),
            ("<volume type='block'><name>v</name><capacity>1</capacity></volume>", .noSupport),
            ("<volume type='weird'><name>v</name><capacity>1</capacity></volume>", .configUnsupported),
            ("<volume><name>v</name><capacity>1</capacity><target><format type='vmdk'/></target></volume>", .noSupport),
            (
                "<volume><name>v</name><capacity>1</capacity><target><format type='zzz'/></target></volume>",
                .configUnsupported
            ),
            (
                "<volume><name>v</name><capacity>1</capacity><backingStore><path>/b</path></backingStore></volume>",
                .noSupport
            ),
            ("<pool><name>v</name></pool>", .xmlError),
        ])
    func volumeErrors(xml: String, code: LibvirtErrorCode) {
        #expect {
            try StorageVolumeDefinition.parse(xml)
        } throws: { error in
            (error as? LibvirtError)?.code == code
        }
    }

    @Test("volume names are one plain path component; paths split only into a directory and such a name")
    func hostileNames() {
        for name in ["", ".", "..", "a/b", "../x", "/etc/passwd", "tab\there", String(repeating: "x", count: 256)] {
            #expect(StoragePath.problem(withVolumeName: name) != nil, "\(name) accepted")
        }
        for name in [".hidden", "disk.qcow2", "a..b", "with space", String(repeating: "x", count: 255)] {
            #expect(StoragePath.problem(withVolumeName: name) == nil, "\(name) refused")
        }
        #expect(StoragePath.split(volumePath: "/srv/images//a.img")! == ("/srv/images", "a.img"))
        #expect(StoragePath.split(volumePath: "/srv/images/../etc/a.img")! == ("/srv/images/../etc", "a.img"))
        #expect(StoragePath.split(volumePath: "/srv/images/..") == nil)
        #expect(StoragePath.split(volumePath: "relative/a.img") == nil)
        #expect(StoragePath.clean("/a/./b//") == "/a/b")
        #expect(StoragePath.clean("/") == "/")
    }
}
