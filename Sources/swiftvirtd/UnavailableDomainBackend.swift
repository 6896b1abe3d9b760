import LibvirtProtocol

/// The backend until the daemon is wired to the VMM: no domains exist and every operation that would
/// create or change one is refused with VIR_ERR_NO_SUPPORT, so clients see a clear reason.
struct UnavailableDomainBackend: DomainBackend {
    private func unavailable(_ function: String) -> LibvirtError {
        LibvirtError(
            code: .noSupport, domain: .none,
            message: "this function is not supported by the connection driver: \(function) "
                + "(swiftvirtd has no VMM backend configured)")
    }

    func define(xml: String, flags: UInt32) async throws -> DomainStatus {
        throw unavailable("virDomainDefineXML")
    }

    func undefine(_ uuid: DomainUUID, flags: UInt32) async throws { throw LibvirtError.noDomain(.uuid(uuid)) }

    func createTransient(xml: String, flags: UInt32) async throws -> DomainStatus {
        throw unavailable("virDomainCreateXML")
    }

    func lookup(_ key: DomainKey) async throws -> DomainStatus { throw LibvirtError.noDomain(key) }
    func list() async throws -> [DomainStatus] { [] }
    func start(_ uuid: DomainUUID, flags: UInt32) async throws -> DomainStatus {
        throw LibvirtError.noDomain(.uuid(uuid))
    }
    func destroy(_ uuid: DomainUUID, flags: UInt32) async throws { throw LibvirtError.noDomain(.uuid(uuid)) }
    func shutdown(_ uuid: DomainUUID, flags: UInt32) async throws { throw LibvirtError.noDomain(.uuid(uuid)) }
    func reboot(_ uuid: DomainUUID, flags: UInt32) async throws { throw LibvirtError.noDomain(.uuid(uuid)) }
    func suspend(_ uuid: DomainUUID) async throws { throw LibvirtError.noDomain(.uuid(uuid)) }
    func resume(_ uuid: DomainUUID) async throws { throw LibvirtError.noDomain(.uuid(uuid)) }
    func runtimeInfo(_ uuid: DomainUUID) async throws -> DomainRuntimeInfo { throw LibvirtError.noDomain(.uuid(uuid)) }
    func xmlDescription(_ uuid: DomainUUID, flags: DomainXMLFlags) async throws -> String {
        throw LibvirtError.noDomain(.uuid(uuid))
    }
    func setAutostart(_ uuid: DomainUUID, _ autostart: Bool) async throws { throw LibvirtError.noDomain(.uuid(uuid)) }
}
