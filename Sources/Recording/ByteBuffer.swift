/// A growable, manually managed byte buffer with a consumed prefix, reused across calls.
///
/// `[UInt8]` would zero-initialise on growth and check bounds/uniqueness on every access; zlib wants
/// raw pointers anyway, and the reader hands out views into this storage, so its address must only
/// change when we decide to grow it.
final class ByteBuffer {
    /// Start of the storage.
    private(set) var base: UnsafeMutableRawPointer
    /// Bytes allocated.
    private(set) var capacity: Int
    /// Offset of the first byte not yet consumed.
    var start = 0
    /// Offset one past the last valid byte.
    var end = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// Valid, unconsumed bytes.
    var count: Int { end - start }
    /// Bytes free after `end`.
    var spare: Int { capacity - end }
    /// Pointer to the first free byte.
    var endPointer: UnsafeMutableRawPointer { base + end }

    /// Forgets all contents, keeping the allocation.
    func removeAll() {
        start = 0
        end = 0
    }

    /// Makes at least `needed` bytes free after `end`: first by moving the unconsumed bytes to the
    /// front, then by growing geometrically (only when a single item, e.g. one line, is that large).
    func reserveSpare(_ needed: Int) {
        if spare >= needed { return }
        if start > 0 {
            let n = count
            if n > 0 { (base).copyMemory(from: base + start, byteCount: n) }
            start = 0
            end = n
            if spare >= needed { return }
        }
        var newCapacity = capacity * 2
        while newCapacity - end < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: end)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Appends `n` bytes from `source`.
    func append(_ source: UnsafeRawPointer, _ n: Int) {
        guard n > 0 else { return }
        reserveSpare(n)
        (base + end).copyMemory(from: source, byteCount: n)
        end += n
    }

    /// Appends one byte.
    func append(byte: UInt8) {
        reserveSpare(1)
        (base + end).storeBytes(of: byte, as: UInt8.self)
        end += 1
    }
}

/// `Array.withUnsafeBytes` with a typed-throwing body (the standard library's is untyped `rethrows`).
func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(RecordingError) -> R) throws(RecordingError) -> R {
    let result: Result<R, RecordingError> = array.withUnsafeBytes { raw in
        do throws(RecordingError) {
            return .success(try body(raw))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}
