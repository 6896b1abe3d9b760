import Testing

@testable import swiftvirtd

/// The network procedures' guards, without a network driver behind them (DaemonHarness serves
/// domains only); the procedures themselves are tested against the real daemon in ManagementTests.
@Suite("network procedures: read-only connections and a daemon without networks")
struct NetworkProceduresTests {
    @Test("a read-only connection may not change networks; without networks they are unsupported")
    func guards() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = try daemon.file("net.xml", "<network><name>n</name></network>")
            for (arguments, function) in [
                (["net-define", path], "virNetworkDefineXML"), (["net-create", path], "virNetworkCreateXML"),
            ] {
                let refused = try await daemon.virsh(arguments, readOnlySocket: true)
                #expect(refused.status == 1, "\(refused)")
                #expect(
                    refused.error.contains("operation forbidden: read only access prevents \(function)"), "\(refused)")
            }
            let unsupported = try await daemon.virsh("net-define", path)
            #expect(unsupported.status == 1)
            #expect(
                unsupported.error.contains("this function is not supported by the connection driver"), "\(unsupported)")
        }
    }
}
