import Testing

@testable import swiftvirtd

/// No storage driver: pool listings are empty and lookups fail with libvirt's not-found errors, which
/// virt-install and virsh take as "nothing matches" rather than "no storage API".
@Suite("storage pools and volumes without a storage driver")
struct StorageProceduresTests {
    @Test("python3-libvirt: empty pool listings, libvirt's not-found errors, define still unsupported")
    func python() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let script = """
                import libvirt, sys
                libvirt.registerErrorHandler(lambda *args: None, None)
                conn = libvirt.open(sys.argv[1])
                print("lists", conn.listAllStoragePools(0), conn.numOfStoragePools(), conn.listStoragePools(),
                      conn.numOfDefinedStoragePools(), conn.listDefinedStoragePools())
                for call in [lambda: conn.storageVolLookupByPath("/var/lib/a.img"),
                             lambda: conn.storageVolLookupByKey("/var/lib/a.img"),
                             lambda: conn.storagePoolLookupByName("default"),
                             lambda: conn.storagePoolLookupByUUIDString("6f0b1b6e-3c57-4d0c-9a38-2d9b8f6c1e01"),
                             lambda: conn.storagePoolDefineXML("<pool type='dir'/>", 0)]:
                    try:
                        call()
                    except libvirt.libvirtError as e:
                        print("error", e.get_error_code(), e.get_error_domain(), e.get_error_message())
                """
            let result = try await daemon.python(script)
            #expect(result.status == 0, "\(result)")
            for line in [
                "lists [] 0 [] 0 []",
                "error 50 18 Storage volume not found: no storage vol with matching path '/var/lib/a.img'",
                "error 50 18 Storage volume not found: no storage vol with matching key /var/lib/a.img",
                "error 49 18 Storage pool not found: no storage pool with matching name 'default'",
                "error 49 18 Storage pool not found: no storage pool with matching uuid "
                    + "'6f0b1b6e-3c57-4d0c-9a38-2d9b8f6c1e01'",
                "error 3 0 this function is not supported by the connection driver: virStoragePoolDefineXML",
            ] {
                #expect(result.output.contains(line), "missing \(line) in \(result)")
            }
        }
    }

    @Test("virsh pool-list and vol-path")
    func virsh() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let pools = try await daemon.virsh("pool-list", "--all")
            #expect(pools.status == 0, "\(pools)")
            #expect(pools.output.contains(" Name   State   Autostart"), "\(pools)")
            let volume = try await daemon.virsh("vol-key", "/var/lib/a.img")
            #expect(volume.status == 1)
            #expect(
                volume.error.contains("Storage volume not found: no storage vol with matching path '/var/lib/a.img'"),
                "\(volume)")
        }
    }
}
