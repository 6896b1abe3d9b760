import LibvirtProtocol
import Testing

@testable import swiftvirtd

/// The storage procedures over the in-process server: what virt-install and virsh see with no pool
/// defined, and a malformed or hostile request answered with an error rather than a crash.
@Suite("storage pools and volumes over the remote protocol")
struct StorageProceduresTests {
    @Test("python3-libvirt: empty listings and libvirt's not-found and XML errors")
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
                             lambda: conn.storagePoolDefineXML("<pool type='dir'/>", 0),
                             lambda: conn.storagePoolDefineXML("<pool type='logical'><name>x</name></pool>", 0),
                             lambda: conn.storagePoolDefineXML("<pool type='dir'", 0),
                             lambda: conn.storagePoolDefineXML("<pool type='dir'><name>x</name></pool>", 0xff)]:
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
                "error 27 18 XML error: missing pool source name element",
                "error 3 18 this function is not supported by the connection driver: storage pool type 'logical'",
                "error 35 18 (storage_pool_definition):1:",
                "error 8 0 invalid argument: unsupported flags (0xfe) in function virStoragePoolDefineXML",
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

    @Test("a read-only connection may list and look up, not define")
    func readOnly() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let define = try await daemon.virsh(
                ["pool-define-as", "p", "dir", "--target", daemon.directory + "/p"], readOnlySocket: true)
            #expect(define.error.contains("read only access prevents virStoragePoolDefineXML"), "\(define)")
            #expect(try await daemon.virsh(["pool-list", "--all"], readOnlySocket: true).status == 0)
        }
    }

    @Test("truncated and oversized arguments to every storage procedure are answered with errors")
    func malformedPayloads() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let procedures: [RemoteProcedure] = [
                .connectListStoragePools, .connectListAllStoragePools, .storagePoolDefineXML, .storagePoolCreateXML,
                .storagePoolLookupByName, .storagePoolLookupByUUID, .storagePoolLookupByVolume, .storagePoolBuild,
                .storagePoolCreate, .storagePoolDestroy, .storagePoolUndefine, .storagePoolGetInfo,
                .storagePoolGetXMLDesc, .storagePoolSetAutostart, .storagePoolListVolumes,
                .storagePoolListAllVolumes, .storageVolumeCreateXML, .storageVolumeCreateXMLFrom,
                .storageVolumeDelete, .storageVolumeLookupByName, .storageVolumeLookupByPath,
                .storageVolumeGetInfo, .storageVolumeGetXMLDesc, .storageVolumeGetPath, .storageVolumeResize,
            ]
            let payloads: [[UInt8]] = [[], [0, 0], [0x7F, 0xFF, 0xFF, 0xFF], [0, 0, 0, 2, 0x2E, 0x2E, 0, 0]]
            let path = daemon.socketPath
            let replies = try await blocking { () -> [RPCPacket?] in
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                _ = try client.open()
                var replies: [RPCPacket?] = []
                var serial: UInt32 = 10
                for procedure in procedures {
                    for payload in payloads {
                        serial += 1
                        replies.append(try client.call(procedure, serial: serial, payload: payload))
                    }
                }
                replies.append(try client.call(.connectNumOfStoragePools, serial: 1))
                return replies
            }
            for reply in replies.dropLast() {
                #expect(reply?.remoteError != nil, "\(String(describing: reply))")
            }
            #expect(try replies.last??.decodePayload(as: IntMessage.self).value == 0)
        }
    }
}
