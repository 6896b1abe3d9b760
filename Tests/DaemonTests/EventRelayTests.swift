import Foundation
import LibvirtProtocol
import Testing

@testable import swiftvirtd

/// How events reach a connection: per-callback registrations (with their domain filter) and the
/// legacy ones, on the wire.
@Suite("domain event relay")
struct EventRelayTests {
    static let alpha = RemoteDomain(
        name: "alpha", uuid: DomainUUID(string: "11111111-2222-3333-4444-555555555555")!, id: 1)
    static let beta = RemoteDomain(
        name: "beta", uuid: DomainUUID(string: "66666666-7777-8888-9999-000000000000")!, id: 2)

    @Test("callbacks get DOMAIN_EVENT_CALLBACK_* with their id and filter; legacy ones the plain messages")
    func registrations() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            let (client, callbackIDs) = try await blocking { () -> (RawRPCClient, [Int32]) in
                let client = try RawRPCClient(path: path)
                _ = try client.open()
                var ids: [Int32] = []
                for (eventID, domain) in [(DomainEventID.lifecycle, Self.alpha), (.reboot, nil)] {
                    let args = DomainEventCallbackRegisterArgs(eventID: eventID.rawValue, domain: domain)
                    let reply = try client.call(
                        .connectDomainEventCallbackRegisterAny, serial: 2, payload: XDREncoder.encode(args))
                    ids.append(try #require(reply).decodePayload(as: IntMessage.self).value)
                }
                let any = try client.call(
                    .connectDomainEventRegisterAny, serial: 3, payload: XDREncoder.encode(IntMessage(0)))
                #expect(any?.header.status == .ok)
                #expect(try client.call(.connectDomainEventRegister, serial: 4)?.header.status == .ok)
                return (client, ids)
            }
            defer { client.close() }
            #expect(callbackIDs == [1, 2])

            daemon.events.publish(DomainEvent(domain: Self.beta, kind: .lifecycle(.startedBooted)))
            daemon.events.publish(DomainEvent(domain: Self.alpha, kind: .lifecycle(.stoppedDestroyed)))
            daemon.events.publish(DomainEvent(domain: Self.alpha, kind: .reboot))
            let packets = try await blocking { try (0..<6).compactMap { _ in try client.receive() } }
            #expect(
                packets.allSatisfy { $0.header.type == .message && $0.header.serial == 0 && $0.header.status == .ok })
            #expect(
                packets.map(\.header.procedure)
                    == [
                        RemoteProcedure.domainEventLifecycle, .domainEventLifecycle, .domainEventCallbackLifecycle,
                        .domainEventLifecycle, .domainEventLifecycle, .domainEventCallbackReboot,
                    ].map(\.rawValue))
            let legacy = try packets[0].decodePayload(as: DomainEventLifecycleMessage.self)
            #expect(legacy == DomainEventLifecycleMessage(domain: Self.beta, event: .startedBooted))
            let callback = try packets[2].decodePayload(
                as: DomainEventCallbackMessage<DomainEventLifecycleMessage>.self)
            #expect(callback.callbackID == 1 && callback.message.event == 5 && callback.message.detail == 1)
            let reboot = try packets[5].decodePayload(as: DomainEventCallbackMessage<DomainMessage>.self)
            #expect(reboot == DomainEventCallbackMessage(callbackID: 2, message: DomainMessage(Self.alpha)))

            // Deregistration, and libvirt's errors for what is not registered.
            let errors = try await blocking { () -> [String?] in
                let id = try XDREncoder.encode(IntMessage(1))
                let lifecycle = try XDREncoder.encode(IntMessage(0))
                let replies = try [
                    client.call(.connectDomainEventCallbackDeregisterAny, serial: 5, payload: id),
                    client.call(.connectDomainEventCallbackDeregisterAny, serial: 6, payload: id),
                    client.call(.connectDomainEventDeregisterAny, serial: 7, payload: lifecycle),
                    client.call(.connectDomainEventDeregister, serial: 8),
                    client.call(.connectDomainEventDeregister, serial: 9),
                ]
                return replies.map { $0?.remoteError?.message }
            }
            #expect(
                errors == [
                    nil, "internal error: domain event callback 1 not registered", nil, nil,
                    "internal error: domain event 0 not registered",
                ])

            // Nothing registered for lifecycle any more: the next packet is the reply to a call.
            daemon.events.publish(DomainEvent(domain: Self.alpha, kind: .lifecycle(.startedBooted)))
            let next = try await blocking { try client.call(.connectGetType, serial: 10) }
            #expect(next?.header.type == .reply && next?.header.serial == 10)
        }
    }

    @Test("a connection that closes drops its subscription and callbacks")
    func closeDropsCallbacks() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = daemon.socketPath
            try await blocking {
                let client = try RawRPCClient(path: path)
                defer { client.close() }
                _ = try client.open()
                let args = DomainEventCallbackRegisterArgs(eventID: 0, domain: nil)
                _ = try client.call(.connectDomainEventCallbackRegisterAny, serial: 2, payload: XDREncoder.encode(args))
            }
            var gone = false
            for _ in 0..<1500 where !gone {
                gone = daemon.events.subscriberCount == 0
                if !gone { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(daemon.events.subscriberCount == 0)
            // Publishing to nobody is fine.
            daemon.events.publish(DomainEvent(domain: Self.alpha, kind: .lifecycle(.startedBooted)))
        }
    }
}
