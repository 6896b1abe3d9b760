/// struct virtio_net_hdr_v1 (virtio 1.2 §5.1.6), in front of every frame on both queues: flags u8,
/// gso_type u8, hdr_len le16, gso_size le16, csum_start le16, csum_offset le16, num_buffers le16. With
/// VIRTIO_F_VERSION_1 it is 12 bytes whether or not VIRTIO_NET_F_MRG_RXBUF was negotiated.
enum VirtioNetHeader {
    static let size = 12
    static let numberOfBuffersOffset = 10

    /// VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum from csum_start is partial.
    static let flagNeedsChecksum: UInt8 = 1
    /// VIRTIO_NET_HDR_F_DATA_VALID: the checksum was already verified.
    static let flagDataValid: UInt8 = 2
    /// VIRTIO_NET_HDR_GSO_NONE / TCPV4 / TCPV6, and the ECN bit.
    static let segmentationNone: UInt8 = 0
    static let segmentationTCP4: UInt8 = 1
    static let segmentationTCP6: UInt8 = 4
    static let segmentationECN: UInt8 = 0x80

    /// Makes the header of a received frame fit what the driver accepted (§5.1.6.4.1): without
    /// GUEST_CSUM the flags must be 0 and the frame fully checksummed; segmentation only of the kinds the
    /// driver took. Returns false when the frame cannot be delivered (a partial checksum or segmentation
    /// the driver did not accept, e.g. a frame queued under an earlier driver's offloads).
    static func sanitizeReceived(_ header: UnsafeMutableRawBufferPointer, offloads: NetworkOffloads) -> Bool {
        guard header.count >= size else { return false }
        let flags = header[0]
        let segmentation = header[1]
        guard offloads.contains(.checksum) else {
            guard flags & flagNeedsChecksum == 0, segmentation == segmentationNone else { return false }
            // Only num_buffers (written later) carries meaning without offloads.
            for index in 0..<numberOfBuffersOffset { header[index] = 0 }
            return true
        }
        header[0] = flags & (flagNeedsChecksum | flagDataValid)
        let kind = segmentation & ~segmentationECN
        switch kind {
        case segmentationNone: return segmentation & segmentationECN == 0
        case segmentationTCP4 where offloads.contains(.tcp4Segmentation),
            segmentationTCP6 where offloads.contains(.tcp6Segmentation):
            return segmentation & segmentationECN == 0 || offloads.contains(.segmentationECN)
        default: return false
        }
    }

    /// Writes num_buffers.
    static func setNumberOfBuffers(_ count: UInt16, in header: UnsafeMutableRawBufferPointer) {
        guard header.count >= size else { return }
        header[numberOfBuffersOffset] = UInt8(truncatingIfNeeded: count)
        header[numberOfBuffersOffset + 1] = UInt8(truncatingIfNeeded: count >> 8)
    }
}
