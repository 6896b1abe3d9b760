@testable import Virtio

/// Drives a virtio-mmio transport's registers the way Linux's virtio_mmio.c does (32-bit accesses).
struct MMIODriver {
    let transport: VirtioMMIOTransport

    func read(_ offset: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: transport.read(offset: offset, size: 4))
    }

    func write(_ offset: UInt64, _ value: UInt32) {
        transport.write(offset: offset, size: 4, value: UInt64(value))
    }

    var status: UInt32 { read(VirtioMMIORegister.status) }

    /// Both halves of DeviceFeatures through DeviceFeaturesSel.
    func deviceFeatures() -> UInt64 {
        write(VirtioMMIORegister.deviceFeaturesSelect, 0)
        let low = read(VirtioMMIORegister.deviceFeatures)
        write(VirtioMMIORegister.deviceFeaturesSelect, 1)
        let high = read(VirtioMMIORegister.deviceFeatures)
        return UInt64(high) << 32 | UInt64(low)
    }

    /// ACKNOWLEDGE, DRIVER, features, FEATURES_OK (§3.1.1); returns whether FEATURES_OK stuck.
    @discardableResult
    func negotiate(features: UInt64) -> Bool {
        write(VirtioMMIORegister.status, VirtioDeviceStatus.acknowledge)
        write(VirtioMMIORegister.status, VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver)
        write(VirtioMMIORegister.driverFeaturesSelect, 0)
        write(VirtioMMIORegister.driverFeatures, UInt32(truncatingIfNeeded: features))
        write(VirtioMMIORegister.driverFeaturesSelect, 1)
        write(VirtioMMIORegister.driverFeatures, UInt32(truncatingIfNeeded: features >> 32))
        write(
            VirtioMMIORegister.status,
            VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver | VirtioDeviceStatus.featuresOK)
        return status & VirtioDeviceStatus.featuresOK != 0
    }

    /// Sets up queue `index` at the test driver's rings and marks it ready.
    func setUpQueue(_ index: UInt32, size: UInt16, rings driver: TestDriver) {
        write(VirtioMMIORegister.queueSelect, index)
        write(VirtioMMIORegister.queueSize, UInt32(size))
        for (low, address) in [
            (VirtioMMIORegister.queueDescriptorLow, driver.descriptorTable.rawValue),
            (VirtioMMIORegister.queueDriverLow, driver.driverRing.rawValue),
            (VirtioMMIORegister.queueDeviceLow, driver.deviceRing.rawValue),
        ] {
            write(low, UInt32(truncatingIfNeeded: address))
            write(low + 4, UInt32(truncatingIfNeeded: address >> 32))
        }
        write(VirtioMMIORegister.queueReady, 1)
    }

    func driverOK() {
        write(VirtioMMIORegister.status, status | VirtioDeviceStatus.driverOK)
    }

    /// Reads InterruptStatus and acknowledges all of it, as vm_interrupt does.
    @discardableResult
    func acknowledgeInterrupts() -> UInt32 {
        let pending = read(VirtioMMIORegister.interruptStatus)
        write(VirtioMMIORegister.interruptAcknowledge, pending)
        return pending
    }
}
