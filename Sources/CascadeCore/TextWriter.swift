/// Text written part by part into a buffer on the stack, then made a string of its exact size (at most one allocation; an
/// interpolation grows its buffer twice, and each append to a reserved string is a call). The parts are a method of
/// a local value, so none pays a dynamic exclusivity check (a nested function capturing the count did). Used where
/// text is made on the decision path (the engine's log detail, the detector's episode id): a part that does not fit
/// stops the process rather than cut the text (callers size the buffer with room). Its parts are always inlined:
/// across modules they were calls, and a number's radix was then divided by at run time.
package struct TextWriter {
    @usableFromInline let buffer: UnsafeMutableBufferPointer<UInt8>
    @usableFromInline var count = 0

    /// The text of `write`, written into `capacity` bytes. Inlined, so the parts are inlined into the caller's closure.
    @inlinable @inline(__always)
    package static func text(capacity: Int, _ write: (inout TextWriter) -> Void) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var writer = TextWriter(buffer: buffer)
            write(&writer)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<writer.count]), as: UTF8.self)
        }
    }

    @inlinable init(buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    @inlinable @inline(__always)
    package mutating func put(string text: String) {
        // In place when the bytes are contiguous (native strings, small or not); byte by byte otherwise.
        if text.utf8.withContiguousStorageIfAvailable({ put($0) }) != nil { return }
        for byte in text.utf8 { put(byte: byte) }
    }

    /// A literal, read in place (no string made of it; a literal argument would make a `String` if this took one).
    @inlinable @inline(__always)
    package mutating func put(_ text: StaticString) {
        text.withUTF8Buffer { put($0) }
    }

    /// `value` in decimal, written in place (no string made of it).
    @inlinable @inline(__always)
    package mutating func put(_ value: Int64) {
        if value < 0 { put("-") }
        put(value.magnitude)
    }

    /// `value` in `radix` (2...36; digits past 9 in lower case), written in place. Not generic: across modules a
    /// generic one ran unspecialised. Inlined callers pass a constant radix, so the divisions stay multiplications.
    @inlinable @inline(__always)
    package mutating func put(_ value: UInt64, radix: UInt64 = 10) {
        precondition((2...36).contains(radix), "radix out of range")
        var magnitude = value
        var digits = 1
        var rest = magnitude / radix
        while rest > 0 { digits += 1; rest /= radix }
        precondition(digits <= buffer.count - count, "text longer than its buffer")
        for k in stride(from: count + digits - 1, through: count, by: -1) {
            let digit = UInt8(truncatingIfNeeded: magnitude % radix)
            buffer[k] = digit < 10 ? 0x30 + digit : 0x57 + digit
            magnitude /= radix
        }
        count += digits
    }

    /// One byte (the caller's to keep within the text's character set).
    @inlinable @inline(__always)
    package mutating func put(byte: UInt8) {
        precondition(count < buffer.count, "text longer than its buffer")
        buffer[count] = byte
        count += 1
    }

    @inlinable @inline(__always)
    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        precondition(bytes.count <= buffer.count - count, "text longer than its buffer")
        _ = UnsafeMutableBufferPointer(rebasing: buffer[count..<(count + bytes.count)]).initialize(from: bytes)
        count += bytes.count
    }
}
