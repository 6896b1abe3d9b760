import Devices

/// The read-only image of a virtio-pci function's configuration space (virtio 1.2 §4.1.2, §4.1.4): the
/// type 0 header and the capability chain. `VirtioPCIFunction` overlays the writable registers.
enum VirtioPCIConfigSpace {
    /// PCI vendor ID of virtio devices (Red Hat, Inc.), also the subsystem vendor ID.
    static let vendorID: UInt16 = 0x1AF4
    /// Modern (non-transitional) device IDs are 0x1040 + the virtio device ID (§4.1.2.1).
    static let modernDeviceIDBase: UInt16 = 0x1040
    /// §4.1.2.1: non-transitional devices SHOULD have revision 1.
    static let revision: UInt8 = 1

    /// The PCI class code (base class, subclass, programming interface) for a virtio device type. The
    /// spec leaves it open; these say what the function is to tools like lspci. QEMU reports block as a
    /// SCSI controller (0x010000); we say mass storage "other", since it is not SCSI.
    static func classCode(deviceID: UInt32) -> UInt32 {
        switch deviceID {
        case 1: 0x02_00_00  // network controller, Ethernet
        case 2: 0x01_80_00  // mass storage controller, other
        case 3: 0x07_80_00  // simple communication controller, other
        default: 0xFF_00_00  // device does not fit any defined class
        }
    }

    /// The 256-byte image for a device of type `deviceID` with `queueCount` queues.
    static func image(deviceID: UInt32, queueCount: Int) -> [UInt8] {
        var image = ConfigImage()
        let pciDeviceID = modernDeviceIDBase &+ UInt16(truncatingIfNeeded: deviceID)
        image.put16(vendorID, at: PCIConfigRegister.vendorID)
        image.put16(pciDeviceID, at: PCIConfigRegister.deviceID)
        image.put8(revision, at: PCIConfigRegister.revisionID)
        let classCode = classCode(deviceID: deviceID)
        image.put16(UInt16(truncatingIfNeeded: classCode), at: PCIConfigRegister.classCode)
        image.put8(UInt8(truncatingIfNeeded: classCode >> 16), at: PCIConfigRegister.classCode + 2)
        image.put8(0, at: PCIConfigRegister.headerType)
        // §4.1.2.1: the subsystem IDs MAY reflect the vendor and device ID; non-transitional devices
        // SHOULD have a subsystem device ID of 0x40 or higher.
        image.put16(vendorID, at: PCIConfigRegister.subsystemVendorID)
        image.put16(pciDeviceID, at: PCIConfigRegister.subsystemID)
        image.put8(UInt8(VirtioPCILayout.firstCapability), at: PCIConfigRegister.capabilitiesPointer)
        image.put8(PCIConfigRegister.interruptPinA, at: PCIConfigRegister.interruptPin)

        let notifyLength = UInt32(max(queueCount, 1)) * UInt32(VirtioPCILayout.notifyOffsetMultiplier)
        typealias Layout = VirtioPCILayout
        let capabilities: [(start: Int, type: UInt8, offset: UInt64, length: UInt32, extra: UInt32?)] = [
            (
                Layout.commonCapability, Layout.commonConfigType, Layout.commonConfig,
                UInt32(Layout.commonConfigLength), nil
            ),
            (
                Layout.notifyCapability, Layout.notifyConfigType, Layout.notify, notifyLength,
                UInt32(Layout.notifyOffsetMultiplier)
            ),
            (Layout.isrCapability, Layout.isrConfigType, Layout.isr, UInt32(Layout.isrLength), nil),
            (
                Layout.deviceCapability, Layout.deviceConfigType, Layout.deviceConfig,
                UInt32(Layout.deviceConfigLength), nil
            ),
            // The window's bar/offset/length start at 0 and are the driver's to write (§4.1.4.9).
            (Layout.pciConfigCapability, Layout.pciConfigType, 0, 0, 0),
        ]
        for (index, capability) in capabilities.enumerated() {
            let next = index + 1 < capabilities.count ? capabilities[index + 1].start : Layout.msixCapability
            image.putVirtioCapability(
                at: capability.start, next: next, type: capability.type, offset: capability.offset,
                length: capability.length, extra: capability.extra)
        }

        // MSI-X (PCI Local Bus 3.0 §6.8.2): table and PBA in BAR 0 (BIR 0); Message Control is overlaid.
        let msix = VirtioPCILayout.msixCapability
        image.put8(PCIConfigRegister.capabilityMSIX, at: msix)
        image.put8(0, at: msix + 1)
        image.put32(UInt32(VirtioPCILayout.msixTable), at: msix + 4)
        image.put32(UInt32(VirtioPCILayout.msixPendingBits), at: msix + 8)
        return image.bytes
    }

    /// A little-endian byte image being filled in.
    private struct ConfigImage {
        var bytes = [UInt8](repeating: 0, count: PCIConfigRegister.spaceSize)

        mutating func put8(_ value: UInt8, at offset: Int) {
            bytes[offset] = value
        }

        mutating func put16(_ value: UInt16, at offset: Int) {
            put8(UInt8(truncatingIfNeeded: value), at: offset)
            put8(UInt8(truncatingIfNeeded: value >> 8), at: offset + 1)
        }

        mutating func put32(_ value: UInt32, at offset: Int) {
            put16(UInt16(truncatingIfNeeded: value), at: offset)
            put16(UInt16(truncatingIfNeeded: value >> 16), at: offset + 2)
        }

        /// struct virtio_pci_cap (§4.1.4): vendor-specific ID, next, length, cfg_type, BAR 0, offset, length;
        /// `extra` appends notify_off_multiplier or pci_cfg_data.
        mutating func putVirtioCapability(
            at start: Int, next: Int, type: UInt8, offset: UInt64, length: UInt32, extra: UInt32? = nil
        ) {
            put8(PCIConfigRegister.capabilityVendorSpecific, at: start)
            put8(UInt8(next), at: start + 1)
            put8(UInt8(VirtioPCILayout.capabilitySize + (extra == nil ? 0 : 4)), at: start + 2)
            put8(type, at: start + VirtioPCILayout.capabilityType)
            put8(0, at: start + VirtioPCILayout.capabilityBAR)
            put32(UInt32(offset), at: start + VirtioPCILayout.capabilityOffset)
            put32(length, at: start + VirtioPCILayout.capabilityLength)
            if let extra { put32(extra, at: start + VirtioPCILayout.capabilityExtra) }
        }
    }
}
