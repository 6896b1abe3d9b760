import GuestMemory
import KVM

/// Bounds on one linear-memory access.
public enum LinearMemoryLimits {
    /// The longest single access. Completions touch at most 16 bytes; IDT and handler reads a few more.
    public static let maximumAccessLength = 4096
    /// Translation granule. KVM_TRANSLATE answers per address, so 4 KiB steps are right for large pages too.
    public static let pageSize: UInt64 = 4096
}

/// Guest memory seen through the vCPU's current page tables: each access is split at 4 KiB page boundaries
/// and every piece is translated with KVM_TRANSLATE before any byte moves, so a write that faults on its
/// second page changes nothing.
public struct LinearMemory<Context: CPUContext> {
    public let context: Context
    public let memory: GuestMemory
    /// The accesses are made from ring 3: every page must be a user page.
    public let userAccess: Bool

    public init(context: Context, memory: GuestMemory, userAccess: Bool = false) {
        self.context = context
        self.memory = memory
        self.userAccess = userAccess
    }

    /// One page-bounded piece of an access: where it lands in guest RAM and where it sits in the buffer.
    private struct Piece {
        var physical: GuestAddress
        var offset: Int
        var length: Int
    }

    /// Reads `count` bytes starting at linear `address`. With `requireWritable`, the pages must also
    /// allow a store (a read-modify-write checks before it reads).
    public func read(at address: UInt64, count: Int, requireWritable: Bool = false) throws(LinearMemoryError)
        -> [UInt8]
    {
        let pieces = try translate(address, count: count, requireWritable: requireWritable)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for piece in pieces {
            do {
                bytes += try memory.read(at: piece.physical, length: piece.length)
            } catch {
                throw .outsideRAM(
                    linearAddress: address &+ UInt64(piece.offset), physicalAddress: piece.physical.rawValue,
                    length: piece.length)
            }
        }
        return bytes
    }

    /// Reads up to `count` bytes at `address`, stopping early at the first page that cannot be read. The
    /// first byte must be readable. Used for instruction fetch near the end of a mapping.
    public func readPrefix(at address: UInt64, upTo count: Int) throws(LinearMemoryError) -> [UInt8] {
        guard count > 0, count <= LinearMemoryLimits.maximumAccessLength else { throw .invalidLength(count) }
        let firstPage = Int(LinearMemoryLimits.pageSize - (address & (LinearMemoryLimits.pageSize - 1)))
        var bytes = try read(at: address, count: min(count, firstPage))
        // Each further piece starts page-aligned and fits in one page; every pass adds ≥ 1 byte or stops.
        while bytes.count < count {
            let (pageStart, overflow) = address.addingReportingOverflow(UInt64(bytes.count))
            let chunk = min(count - bytes.count, Int(LinearMemoryLimits.pageSize))
            guard !overflow, let more = try? read(at: pageStart, count: chunk) else { break }
            bytes += more
        }
        return bytes
    }

    /// Writes `bytes` at linear `address`. With `requireWritable`, a read-only page is an error (what the
    /// guest's own store would fault on); the VMM clears it to patch kernel text it does not own.
    /// The check is as good as the context's translation (`GuestCPU` walks the guest page tables).
    public func write(_ bytes: [UInt8], at address: UInt64, requireWritable: Bool = true) throws(LinearMemoryError) {
        let pieces = try translate(address, count: bytes.count, requireWritable: requireWritable)
        for piece in pieces {
            do {
                try memory.write(bytes[piece.offset..<piece.offset + piece.length], at: piece.physical)
            } catch {
                throw .outsideRAM(
                    linearAddress: address &+ UInt64(piece.offset), physicalAddress: piece.physical.rawValue,
                    length: piece.length)
            }
        }
    }

    /// The guest-physical address `address` maps to.
    public func physicalAddress(of address: UInt64) throws(LinearMemoryError) -> GuestAddress {
        try translate(address, count: 1, requireWritable: false)[0].physical
    }

    /// Splits [address, address+count) at page boundaries and translates every piece.
    private func translate(_ address: UInt64, count: Int, requireWritable: Bool) throws(LinearMemoryError)
        -> [Piece]
    {
        guard count > 0, count <= LinearMemoryLimits.maximumAccessLength else { throw .invalidLength(count) }
        guard !address.addingReportingOverflow(UInt64(count - 1)).overflow else {
            throw .addressOverflow(linearAddress: address, length: count)
        }
        var pieces: [Piece] = []
        var offset = 0
        // Bounded: count ≤ 4096, so at most two pieces.
        while offset < count {
            let linear = address + UInt64(offset)
            let roomInPage = Int(LinearMemoryLimits.pageSize - (linear & (LinearMemoryLimits.pageSize - 1)))
            let length = min(count - offset, roomInPage)
            let translation: Translation
            do {
                translation = try context.translate(linear)
            } catch {
                throw .translationFailed(linearAddress: linear, reason: "\(error)")
            }
            guard translation.valid else { throw .notMapped(linearAddress: linear) }
            guard !userAccess || translation.usermode else { throw .notUserAccessible(linearAddress: linear) }
            guard !requireWritable || translation.writeable else { throw .notWritable(linearAddress: linear) }
            let physical = GuestAddress(translation.physicalAddress)
            guard memory.contains(physical, length: UInt64(length)) else {
                throw .outsideRAM(linearAddress: linear, physicalAddress: physical.rawValue, length: length)
            }
            pieces.append(Piece(physical: physical, offset: offset, length: length))
            offset += length
        }
        return pieces
    }
}
