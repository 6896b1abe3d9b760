/// The qcow2 header and its extensions (qcow2 spec "Header", "Additional fields", "Header extensions"),
/// parsed from the first cluster and validated field by field before anything else uses it.
struct Qcow2Header: Sendable, Equatable {
    /// "QFI\xfb".
    static let magic: UInt32 = 0x5146_49FB
    /// Version 2 headers end after snapshots_offset.
    static let version2Length = 72
    /// Version 3 headers reach at least header_length.
    static let version3MinimumLength = 104
    /// The length QEMU writes: compression_type plus padding to 8 bytes.
    static let currentLength = 112

    /// Byte offsets of fields that are rewritten in place.
    enum Field {
        static let size = 24
        static let l1Size = 36
        static let refcountTableOffset = 48
        static let snapshotCount = 60
        static let incompatibleFeatures = 72
        static let autoclearFeatures = 88
    }

    var version: UInt32
    var backingFileOffset: UInt64 = 0
    var backingFileSize: UInt32 = 0
    var clusterBits: UInt32
    var size: UInt64
    var cryptMethod: UInt32 = 0
    var l1Size: UInt32 = 0
    var l1TableOffset: UInt64 = 0
    var refcountTableOffset: UInt64
    var refcountTableClusters: UInt32
    var snapshotCount: UInt32 = 0
    var snapshotsOffset: UInt64 = 0
    var incompatibleFeatures: Qcow2IncompatibleFeatures = []
    var compatibleFeatures: Qcow2CompatibleFeatures = []
    var autoclearFeatures: Qcow2AutoclearFeatures = []
    var refcountOrder: UInt32 = 4
    var headerLength: UInt32
    var compressionType: Qcow2CompressionType = .zlib
    /// Header bytes beyond the fields known here (header_length > 112), kept for rewrites.
    var unknownHeaderFields: [UInt8] = []

    var backingFile: String?
    var backingFormat: String?
    var featureNames: [Qcow2FeatureName] = []
    var externalDataFile: String?
    var bitmaps: Qcow2BitmapsExtension?
    /// Extensions not interpreted here, in file order.
    var otherExtensions: [Qcow2HeaderExtension] = []

    var clusterSize: UInt64 { 1 << UInt64(clusterBits) }
    var geometry: Qcow2Geometry {
        Qcow2Geometry(
            clusterBits: Int(clusterBits), refcountOrder: Int(refcountOrder),
            extendedL2: incompatibleFeatures.contains(.extendedL2))
    }

    init(
        version: UInt32, clusterBits: UInt32, size: UInt64, refcountTableOffset: UInt64,
        refcountTableClusters: UInt32
    ) {
        self.version = version
        self.clusterBits = clusterBits
        self.size = size
        self.refcountTableOffset = refcountTableOffset
        self.refcountTableClusters = refcountTableClusters
        self.headerLength = UInt32(version >= 3 ? Self.currentLength : Self.version2Length)
    }

    /// cluster_bits from the first bytes of a file (to know how much to read), nil if not qcow2.
    static func clusterBits(inPrefix bytes: [UInt8]) -> UInt32? {
        guard bytes.count >= version2Length, bytes.bigEndian32(at: 0) == magic else { return nil }
        return bytes.bigEndian32(at: 20)
    }

    /// Parses the first cluster of the file (`bytes` holds at least min(cluster size, 2 MiB) bytes;
    /// zeroes past the end of the file) and validates every field against `fileLength`.
    static func parse(_ bytes: [UInt8], path: String, fileLength: UInt64) throws(DiskImageError) -> Qcow2Header {
        func invalid(_ reason: String) -> DiskImageError { .invalidImage(path: path, reason: reason) }
        guard bytes.count >= version2Length, fileLength >= UInt64(version2Length) else {
            throw invalid("the file is too short for a qcow2 header")
        }
        guard bytes.bigEndian32(at: 0) == magic else { throw invalid("no qcow2 magic") }
        let version = bytes.bigEndian32(at: 4)
        guard version == 2 || version == 3 else { throw .unsupportedFeatures(["qcow2 version \(version)"]) }
        let clusterBits = bytes.bigEndian32(at: 20)
        guard clusterBits >= Qcow2Limits.minimumClusterBits, clusterBits <= Qcow2Limits.maximumClusterBits else {
            throw invalid("cluster_bits \(clusterBits) is outside 9...21")
        }
        let clusterSize = UInt64(1) << UInt64(clusterBits)
        guard bytes.count >= Int(clusterSize) else { throw invalid("the header cluster was not read whole") }

        var header = Qcow2Header(
            version: version, clusterBits: clusterBits, size: bytes.bigEndian64(at: 24),
            refcountTableOffset: bytes.bigEndian64(at: 48), refcountTableClusters: bytes.bigEndian32(at: 56))
        header.backingFileOffset = bytes.bigEndian64(at: 8)
        header.backingFileSize = bytes.bigEndian32(at: 16)
        header.cryptMethod = bytes.bigEndian32(at: 32)
        header.l1Size = bytes.bigEndian32(at: 36)
        header.l1TableOffset = bytes.bigEndian64(at: 40)
        header.snapshotCount = bytes.bigEndian32(at: 60)
        header.snapshotsOffset = bytes.bigEndian64(at: 64)

        if version >= 3 {
            header.incompatibleFeatures = Qcow2IncompatibleFeatures(rawValue: bytes.bigEndian64(at: 72))
            header.compatibleFeatures = Qcow2CompatibleFeatures(rawValue: bytes.bigEndian64(at: 80))
            header.autoclearFeatures = Qcow2AutoclearFeatures(rawValue: bytes.bigEndian64(at: 88))
            header.refcountOrder = bytes.bigEndian32(at: 96)
            header.headerLength = bytes.bigEndian32(at: 100)
            guard header.headerLength >= version3MinimumLength else {
                throw invalid("header_length \(header.headerLength) is shorter than 104 bytes")
            }
            guard UInt64(header.headerLength) <= clusterSize else {
                throw invalid("header_length \(header.headerLength) exceeds the cluster size")
            }
            if header.headerLength > UInt32(version3MinimumLength) {
                let rawType = bytes[version3MinimumLength]
                guard let type = Qcow2CompressionType(rawValue: rawType) else {
                    throw .unsupportedFeatures(["compression type \(rawType)"])
                }
                header.compressionType = type
            }
            if header.headerLength > UInt32(currentLength) {
                header.unknownHeaderFields = Array(bytes[currentLength..<Int(header.headerLength)])
            }
        }

        try header.parseExtensions(bytes, path: path)
        try header.validate(path: path, fileLength: fileLength)
        return header
    }

    /// Reads the extension area and the backing file name (qcow2 spec "Header extensions").
    private mutating func parseExtensions(_ bytes: [UInt8], path: String) throws(DiskImageError) {
        func invalid(_ reason: String) -> DiskImageError { .invalidImage(path: path, reason: reason) }
        if backingFileOffset != 0 {
            guard backingFileOffset <= clusterSize else {
                throw invalid(
                    "backing file name offset 0x\(String(backingFileOffset, radix: 16)) is outside the header cluster")
            }
            guard backingFileSize <= UInt32(Qcow2Limits.maximumBackingFileNameLength),
                backingFileOffset + UInt64(backingFileSize) <= clusterSize
            else { throw invalid("backing file name is too long (\(backingFileSize) bytes)") }
            guard backingFileOffset >= UInt64(headerLength) else {
                throw invalid("backing file name overlaps the header")
            }
        }
        let areaEnd = Int(backingFileOffset != 0 ? backingFileOffset : clusterSize)
        var position = Int(headerLength)
        var seen: Set<UInt32> = []
        // Each extension takes at least 8 bytes, so the area bounds the loop.
        while position + 8 <= areaEnd {
            let type = bytes.bigEndian32(at: position)
            let length = Int(bytes.bigEndian32(at: position + 4))
            position += 8
            if type == Qcow2HeaderExtension.end { break }
            guard length <= areaEnd - position else {
                throw invalid("header extension 0x\(String(type, radix: 16)) is too large")
            }
            let data = Array(bytes[position..<position + length])
            position += (length + 7) & ~7
            if type != Qcow2HeaderExtension.featureNameTable && !seen.insert(type).inserted {
                throw invalid("header extension 0x\(String(type, radix: 16)) appears twice")
            }
            switch type {
            case Qcow2HeaderExtension.backingFormat:
                guard length <= Qcow2Limits.maximumBackingFormatLength else {
                    throw invalid("backing format name of \(length) bytes is too long")
                }
                backingFormat = data.string(at: 0, count: length)
            case Qcow2HeaderExtension.featureNameTable:
                featureNames += Qcow2FeatureName.parseTable(data)
            case Qcow2HeaderExtension.externalDataFile:
                externalDataFile = data.string(at: 0, count: length)
            case Qcow2HeaderExtension.bitmaps:
                // Without the autoclear bit the bitmaps are inconsistent and ignored (spec "Bitmaps extension").
                if autoclearFeatures.contains(.bitmaps) {
                    bitmaps = try Qcow2BitmapsExtension(data: data, clusterSize: clusterSize)
                } else {
                    otherExtensions.append(Qcow2HeaderExtension(type: type, data: data))
                }
            default:
                otherExtensions.append(Qcow2HeaderExtension(type: type, data: data))
            }
        }
        if backingFileOffset != 0 {
            backingFile = bytes.string(at: Int(backingFileOffset), count: Int(backingFileSize))
            if backingFile?.isEmpty == true { backingFile = nil }
        }
    }

    /// Field checks in the spirit of QEMU's qcow2_do_open: every offset aligned and inside the file,
    /// every size within QEMU's limits, before any table is read or allocated.
    private func validate(path: String, fileLength: UInt64) throws(DiskImageError) {
        func invalid(_ reason: String) -> DiskImageError { .invalidImage(path: path, reason: reason) }
        func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

        if version == 2 {
            guard refcountOrder == 4 else { throw invalid("version 2 images have 16-bit refcounts") }
        }
        let unknown = incompatibleFeatures.subtracting(.known)
        if !unknown.isEmpty {
            var names: [String] = []
            for bit in 0..<64 where unknown.rawValue & (1 << UInt64(bit)) != 0 {
                let named = featureNames.first { $0.kind == .incompatible && $0.bit == bit }?.name
                names.append(named ?? "unknown incompatible feature bit \(bit)")
            }
            throw .unsupportedFeatures(names)
        }
        if incompatibleFeatures.contains(.externalDataFile) {
            let name = externalDataFile.map { " ('\($0)')" } ?? ""
            throw .notSupported("qcow2 external data file\(name)")
        }
        guard cryptMethod == 0 else { throw .notSupported("qcow2 encryption (crypt_method \(cryptMethod))") }
        if incompatibleFeatures.contains(.compressionType) != (compressionType != .zlib) {
            throw invalid("compression type bit and compression_type field disagree")
        }
        if incompatibleFeatures.contains(.extendedL2) && clusterBits < Qcow2Limits.minimumExtendedL2ClusterBits {
            throw invalid("extended L2 entries need clusters of at least 16 KiB")
        }
        guard refcountOrder <= UInt32(Qcow2Limits.maximumRefcountOrder) else {
            throw invalid("refcount_order \(refcountOrder) is above 6")
        }
        guard size <= Qcow2Limits.maximumVirtualSize else { throw invalid("virtual size \(size) is too large") }

        // Refcount table (qcow2 spec "Host cluster management").
        guard refcountTableClusters > 0 else { throw invalid("the image has no refcount table") }
        let refcountTableBytes = UInt64(refcountTableClusters) << UInt64(clusterBits)
        guard refcountTableBytes <= Qcow2Limits.maximumRefcountTableBytes else {
            throw invalid("refcount table of \(refcountTableClusters) clusters is too large")
        }
        try checkTable(refcountTableOffset, bytes: refcountTableBytes, "refcount table", path, fileLength)

        // Active L1 table (qcow2 spec "Cluster mapping").
        let l1Bytes = UInt64(l1Size) * 8
        guard l1Bytes <= Qcow2Limits.maximumL1Bytes else { throw invalid("L1 table of \(l1Size) entries is too large") }
        guard UInt64(l1Size) >= geometry.l1Entries(for: size) else {
            throw invalid("L1 table of \(l1Size) entries is too small for \(size) bytes")
        }
        if l1Size > 0 { try checkTable(l1TableOffset, bytes: l1Bytes, "L1 table", path, fileLength) }

        // Snapshot table (qcow2 spec "Snapshots"); entries are at least 40 bytes.
        guard snapshotCount <= UInt32(Qcow2Limits.maximumSnapshots) else {
            throw invalid("\(snapshotCount) snapshots are too many")
        }
        if snapshotCount > 0 {
            try checkTable(snapshotsOffset, bytes: UInt64(snapshotCount) * 40, "snapshot table", path, fileLength)
        }
    }

    /// A table must be cluster aligned, outside the header cluster, and inside the file.
    private func checkTable(
        _ offset: UInt64, bytes: UInt64, _ name: String, _ path: String, _ fileLength: UInt64
    ) throws(DiskImageError) {
        func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
        guard offset & (clusterSize - 1) == 0 else {
            throw .corrupt("\(name) offset \(hex(offset)) is not cluster aligned")
        }
        guard offset >= clusterSize else { throw .corrupt("\(name) offset \(hex(offset)) overlaps the header") }
        let (end, overflow) = offset.addingReportingOverflow(bytes)
        guard !overflow, end <= fileLength else {
            throw .corrupt("\(name) at \(hex(offset)) (\(bytes) bytes) extends past the end of the file")
        }
    }

    // MARK: Writing

    /// The first cluster as QEMU lays it out: header fields, header extensions (backing format, feature
    /// name table for v3 with clusters above 4 KiB, preserved ones), the end marker, then the backing file name.
    func encoded() throws(DiskImageError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: version >= 3 ? Self.currentLength : Self.version2Length)
        bytes.storeBigEndian32(Self.magic, at: 0)
        bytes.storeBigEndian32(version, at: 4)
        bytes.storeBigEndian32(clusterBits, at: 20)
        bytes.storeBigEndian64(size, at: 24)
        bytes.storeBigEndian32(cryptMethod, at: 32)
        bytes.storeBigEndian32(l1Size, at: 36)
        bytes.storeBigEndian64(l1TableOffset, at: 40)
        bytes.storeBigEndian64(refcountTableOffset, at: 48)
        bytes.storeBigEndian32(refcountTableClusters, at: 56)
        bytes.storeBigEndian32(snapshotCount, at: 60)
        bytes.storeBigEndian64(snapshotsOffset, at: 64)
        if version >= 3 {
            bytes.storeBigEndian64(incompatibleFeatures.rawValue, at: 72)
            bytes.storeBigEndian64(compatibleFeatures.rawValue, at: 80)
            bytes.storeBigEndian64(autoclearFeatures.rawValue, at: 88)
            bytes.storeBigEndian32(refcountOrder, at: 96)
            bytes.storeBigEndian32(UInt32(Self.currentLength + unknownHeaderFields.count), at: 100)
            bytes[Self.version3MinimumLength] = compressionType.rawValue
            bytes += unknownHeaderFields
        }
        if let backingFormat {
            bytes +=
                Qcow2HeaderExtension(type: Qcow2HeaderExtension.backingFormat, data: Array(backingFormat.utf8))
                .encoded
        }
        // QEMU leaves the table out for clusters of 4 KiB and less, keeping room for a backing file name.
        if version >= 3 && clusterSize > 4096 {
            let table = Qcow2FeatureName.standardTable.flatMap(\.encoded)
            bytes += Qcow2HeaderExtension(type: Qcow2HeaderExtension.featureNameTable, data: table).encoded
        }
        for extensionData in otherExtensions { bytes += extensionData.encoded }
        bytes += [UInt8](repeating: 0, count: 8)
        if let backingFile {
            let name = Array(backingFile.utf8)
            guard name.count <= Qcow2Limits.maximumBackingFileNameLength else {
                throw .invalidArgument("backing file name is longer than 1023 bytes")
            }
            bytes.storeBigEndian64(UInt64(bytes.count), at: 8)
            bytes.storeBigEndian32(UInt32(name.count), at: 16)
            bytes += name
        }
        guard UInt64(bytes.count) <= clusterSize else {
            throw .invalidArgument("the header and its extensions do not fit in one \(clusterSize)-byte cluster")
        }
        return bytes
    }
}
