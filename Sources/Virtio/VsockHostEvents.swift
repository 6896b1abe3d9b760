#if canImport(Glibc)
    import Glibc
#endif

/// What one entry of the device thread's poll set stands for. Connections and handshakes carry their
/// identifier: a result is applied only if the same one is still open, never to a successor that reuses
/// the descriptor number.
enum VsockPollTarget {
    case wakeup
    case listener
    case handshake(id: UInt64)
    case connection(VsockConnectionKey, id: UInt64)
}

/// The host side of the device thread's loop: which descriptors to wait on, and what to do when they
/// are ready.
extension VsockState {
    /// Rebuilds the poll set. Returns false once the device is stopping.
    func preparePoll(_ descriptors: inout [pollfd], _ targets: inout [VsockPollTarget]) -> Bool {
        descriptors.removeAll(keepingCapacity: true)
        targets.removeAll(keepingCapacity: true)
        guard !isStopping, wakeDescriptor >= 0 else { return false }
        func add(_ descriptor: Int32, _ events: Int16, _ target: VsockPollTarget) {
            descriptors.append(pollfd(fd: descriptor, events: events, revents: 0))
            targets.append(target)
        }
        add(wakeDescriptor, Int16(POLLIN), .wakeup)
        guard isActive, !isBroken else { return true }
        if listenDescriptor >= 0, handshakes.count < VirtioVsock.maximumHandshakes {
            add(listenDescriptor, Int16(POLLIN), .listener)
        }
        for handshake in handshakes {
            add(handshake.socket, Int16(POLLIN), .handshake(id: handshake.id))
        }
        for connection in connections.values {
            let events = connection.pollEvents
            // Waiting with no events still reports a hang-up: wanted while the guest has not answered a
            // host-initiated REQUEST, not otherwise (a hung-up socket would wake the loop forever).
            guard events != 0 || connection.phase == .connecting else { continue }
            add(connection.hostSocket, events, .connection(connection.key, id: connection.id))
        }
        return true
    }

    /// Applies poll's results.
    mutating func handleReadiness(_ descriptors: [pollfd], _ targets: [VsockPollTarget]) {
        for (entry, target) in zip(descriptors, targets) where entry.revents != 0 {
            switch target {
            case .wakeup:
                HostIO.drain(eventFD: entry.fd)
            case .listener:
                acceptHostClients()
            case .handshake(let id):
                advanceHandshake(id)
            case .connection(let key, let id):
                let verdict = withConnection(key) { connection in
                    connection.id == id ? connection.hostReady(entry.revents) : .keep
                }
                if let verdict { apply(verdict, to: key) }
            }
        }
    }

    /// Accepts host clients on the listening socket (a bounded number per wakeup).
    private mutating func acceptHostClients() {
        guard isActive, listenDescriptor >= 0 else { return }
        for _ in 0..<VirtioVsock.maximumHandshakes {
            guard case .success(let socket) = HostIO.accept(listener: listenDescriptor) else { return }
            guard handshakes.count < VirtioVsock.maximumHandshakes else {
                HostIO.close(socket)
                continue
            }
            handshakes.append(VsockHandshake(id: makeIdentifier(), socket: socket))
        }
    }

    /// Reads more of a client's "CONNECT <port>\n"; a complete line becomes a connection whose REQUEST
    /// goes to the guest next. The host end gets its own port (from 2^30 up, as Firecracker's do).
    private mutating func advanceHandshake(_ id: UInt64) {
        guard let index = handshakes.firstIndex(where: { $0.id == id }) else { return }
        let progress = handshakes[index].advance()
        guard progress != .waiting else { return }
        let handshake = handshakes.remove(at: index)
        guard case .connect(let port) = progress, connections.count < VirtioVsock.maximumConnections,
            let key = freeKey(guestPort: port)
        else {
            HostIO.close(handshake.socket)
            return
        }
        var connection = VsockConnection(
            id: handshake.id, key: key, hostSocket: handshake.socket, bufferAllocation: bufferAllocation,
            phase: .connecting)
        connection.needsRequest = true
        connections[key] = connection
    }

    /// A host port not used with `guestPort` by any connection.
    private mutating func freeKey(guestPort: UInt32) -> VsockConnectionKey? {
        for _ in 0...connections.count {
            let key = VsockConnectionKey(hostPort: nextHostPort, guestPort: guestPort)
            nextHostPort = nextHostPort == UInt32.max ? VirtioVsock.firstHostPort : nextHostPort + 1
            if connections[key] == nil { return key }
        }
        return nil
    }
}
