import CKVM

/// KVM capabilities SwiftVirt asks about (values from linux/kvm.h).
public enum Capability: Int32, CaseIterable, Sendable {
    case irqchip = 0
    case hlt = 1
    case userMemory = 3
    case setTSSAddress = 4
    case extCPUID = 7
    case nrVCPUs = 9
    case nrMemslots = 10
    case pit2 = 33
    case irqRouting = 25
    case irqfd = 32
    case ioeventfd = 36
    case setIdentityMapAddress = 37
    case vcpuEvents = 41
    case x86RobustSingleStep = 42
    case debugRegisters = 50
    case xsave = 55
    case xcrs = 56
    case maxVCPUs = 66
    case immediateExit = 136
    case x86UserSpaceMSR = 188
    case x86MSRFilter = 189
    case coalescedMMIO = 15
    case coalescedPIO = 162
    case splitIrqchip = 121
    case x2apicAPI = 129
    case signalMSI = 77
    case readonlyMemory = 81
    case tscDeadlineTimer = 72
    case exceptionPayload = 164
}
