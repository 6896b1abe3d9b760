/// A bounded cache of cluster-sized metadata tables keyed by file offset, evicting the least recently
/// used (a doubly linked recency list, so every operation is O(1)). It does no I/O: the image decides
/// how dirty victims are written, since the order matters.
final class Qcow2MetadataCache {
    /// Most tables held whatever their size.
    static let maximumTables = 4096

    let capacity: Int
    private var tables: [UInt64: Qcow2MetadataTable] = [:]
    /// Least recently used end.
    private var oldest: Qcow2MetadataTable?
    /// Most recently used end.
    private var newest: Qcow2MetadataTable?

    /// A cache of at most `byteBudget` bytes of `tableBytes`-sized tables, and at least `minimum` tables.
    init(byteBudget: Int, tableBytes: Int, minimum: Int) {
        capacity = min(Self.maximumTables, max(minimum, byteBudget / max(tableBytes, 1)))
    }

    var isFull: Bool { tables.count >= capacity }

    /// The cached table at `offset`, marked as just used.
    func lookup(_ offset: UInt64) -> Qcow2MetadataTable? {
        guard let table = tables[offset] else { return nil }
        unlink(table)
        append(table)
        return table
    }

    /// Adds `table` as the most recently used; the caller has made room.
    func insert(_ table: Qcow2MetadataTable) {
        if let existing = tables[table.offset] { unlink(existing) }
        tables[table.offset] = table
        append(table)
    }

    /// The least recently used table.
    func leastRecentlyUsed() -> Qcow2MetadataTable? { oldest }

    func remove(_ offset: UInt64) {
        guard let table = tables.removeValue(forKey: offset) else { return }
        unlink(table)
    }

    /// Dirty tables in file order (sequential write-back).
    var dirtyTables: [Qcow2MetadataTable] {
        tables.values.filter(\.isDirty).sorted { $0.offset < $1.offset }
    }

    var hasDirtyTables: Bool { tables.values.contains { $0.isDirty } }

    func removeAll() {
        var table = newest
        while let current = table {
            table = current.older
            current.older = nil
            current.newer = nil
        }
        tables.removeAll()
        oldest = nil
        newest = nil
    }

    private func append(_ table: Qcow2MetadataTable) {
        table.older = newest
        table.newer = nil
        newest?.newer = table
        newest = table
        if oldest == nil { oldest = table }
    }

    private func unlink(_ table: Qcow2MetadataTable) {
        if let newer = table.newer { newer.older = table.older } else { newest = table.older }
        if let older = table.older { older.newer = table.newer } else { oldest = table.newer }
        table.older = nil
        table.newer = nil
    }
}
