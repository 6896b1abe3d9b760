import Devices
import GuestMemory
import KVM
import Logging
import X86Emulation

#if canImport(Glibc)
    import Glibc
#endif

/// One vCPU's thread body: KVM_RUN, handle the exit in user space, re-enter; until the machine stops.
final class VCPURunner: @unchecked Sendable {
    let vcpu: VCPU
    private let machine: MachineCore
    private let completer: InstructionCompleter
    /// The vCPU with guest memory, as the completer and the syscall converter use it.
    private let guestCPU: GuestCPU

    init(vcpu: VCPU, machine: MachineCore) {
        self.vcpu = vcpu
        self.machine = machine
        completer = InstructionCompleter(xsaveLayout: machine.xsaveLayout)
        guestCPU = GuestCPU(vcpu: vcpu, memory: machine.memory, exceptionPayload: machine.exceptionPayload)
    }

    func run() {
        if vcpu.id == 0 && machine.logger.logLevel <= .debug {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let nanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
            machine.logger.debug("first-kvm-run realtime_ns=\(nanoseconds)")
        }
        while !machine.isStopping {
            machine.lifecycle.pauseGate.waitWhileClosed()
            if machine.isStopping { return }
            let exit: VCPUExit
            do {
                exit = try vcpu.run()
            } catch {
                machine.finish(.vmmFailure("vCPU \(vcpu.id): \(error)"))
                return
            }
            machine.statistics.exits.add(1, ordering: .relaxed)
            guestCPU.beginExit()  // the guest ran: what GuestCPU cached is stale
            do {
                if let outcome = try handle(exit) {
                    machine.finish(outcome)
                    return
                }
            } catch {
                machine.finish(.vmmFailure("vCPU \(vcpu.id) handling \(exit): \(error)"))
                return
            }
        }
    }

    /// Handles one exit; returns an outcome when the machine must stop.
    private func handle(_ exit: VCPUExit) throws -> MachineExit? {
        switch exit {
        case .ioOut(let port, let size, let count, let value):
            machine.statistics.pioExits.add(1, ordering: .relaxed)
            guard count == 1 else { return nil }  // string I/O: no device here uses `outs`
            machine.pioBus.write(address: UInt64(port), size: size, value: value)
        case .ioIn(let port, let size, _):
            machine.statistics.pioExits.add(1, ordering: .relaxed)
            vcpu.completeIOIn(machine.pioBus.read(address: UInt64(port), size: size))
        case .mmioWrite(let address, let size, let value):
            machine.statistics.mmioExits.add(1, ordering: .relaxed)
            machine.mmioBus.write(address: address, size: size, value: value)
        case .mmioRead(let address, let size):
            machine.statistics.mmioExits.add(1, ordering: .relaxed)
            vcpu.completeMMIORead(machine.mmioBus.read(address: address, size: size))
        case .halt:
            return .halted(vcpu: vcpu.id)
        case .shutdown:
            return .reset
        case .systemEvent(let type):
            // KVM_SYSTEM_EVENT_SHUTDOWN 1, _RESET 2, _CRASH 3.
            switch type {
            case 1: return .poweredOff
            case 2: return .reset
            default: return .guestFault("KVM system event \(type) (guest crash)")
            }
        case .internalError(let suberror, let data):
            guard suberror == VCPUExit.emulationFailure, machine.host.completesInstructions else {
                return .guestFault(describeFailure("KVM internal error, suberror \(suberror), data \(data)"))
            }
            return try completeFailedInstruction()
        case .msrWrite(let index, let value):
            return try handleMSRWrite(index: index, value: value)
        case .msrRead:
            vcpu.completeMSR(failed: true)
        case .failEntry(let reason):
            return .guestFault(describeFailure("KVM_EXIT_FAIL_ENTRY, hardware reason 0x\(String(reason, radix: 16))"))
        case .interrupted:
            vcpu.requestImmediateExit(false)
        case .debug:
            break
        case .unknown(let reason):
            return .guestFault(describeFailure("unhandled KVM exit reason \(reason)"))
        }
        return nil
    }

    /// The host's emulator gave up on an instruction: either our #PF-entry breakpoint (the syscall
    /// conversion) or an instruction we complete from the register state.
    private func completeFailedInstruction() throws -> MachineExit? {
        if let converter = machine.syscallConverter, let patch = converter.patchAddress {
            let rip = try vcpu.registers().rip
            if rip == patch {
                switch try converter.handleBreakpoint(context: guestCPU, memory: machine.memory) {
                case .convertedSyscall:
                    machine.statistics.convertedSyscalls.add(1, ordering: .relaxed)
                    if machine.logger.logLevel <= .trace, let registers = try? vcpu.registers() {
                        machine.logger.trace(
                            "vCPU \(vcpu.id) syscall \(registers.rax) (\(registers.rdi), \(registers.rsi), \(registers.rdx))"
                        )
                    }
                    return nil
                case .pageFault:
                    machine.statistics.pageFaultPassthroughs.add(1, ordering: .relaxed)
                    return nil
                case .notOurs:
                    break
                }
            }
        }
        switch try completer.complete(context: guestCPU, memory: machine.memory) {
        case .completed:
            machine.statistics.completedInstructions.add(1, ordering: .relaxed)
            return nil
        case .unhandled(let report):
            return .guestFault("vCPU \(vcpu.id): \(report)")
        }
    }

    private func handleMSRWrite(index: UInt32, value: UInt64) throws -> MachineExit? {
        do {
            try vcpu.setMSRs([(index, value)])
        } catch {
            vcpu.completeMSR(failed: true)  // the guest sees #GP, as it would for a bad WRMSR
            return nil
        }
        vcpu.completeMSR(failed: false)
        if index == X86.MSR.lstar, let converter = machine.syscallConverter {
            do {
                try converter.lstarWritten(value, context: guestCPU, memory: machine.memory)
            } catch {
                machine.logger.warning("guest userspace syscalls will fault: \(error)")
            }
        }
        return nil
    }

    private func describeFailure(_ reason: String) -> String {
        do {
            return
                "vCPU \(vcpu.id): \(try FaultReport.capture(reason: reason, context: guestCPU, memory: machine.memory))"
        } catch {
            return "vCPU \(vcpu.id): \(reason) (registers unavailable: \(error))"
        }
    }
}
