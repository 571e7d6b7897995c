/// Text written part by part into a buffer on the stack, then made a string of its exact size (at most one allocation; an
/// interpolation grows its buffer twice, and each append to a reserved string is a call). The parts are a method of
/// a local value, so none pays a dynamic exclusivity check (a nested function capturing the count did). Used where
/// text is made on the decision path (the engine's log detail, the detector's episode id): a part that does not fit
/// stops the process rather than cut the text (callers size the buffer with room).
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

    @inlinable
    package mutating func put(string text: String) {
        var text = text
        text.withUTF8 { put($0) }
    }

    /// A literal, read in place (no string made of it; a literal argument would make a `String` if this took one).
    @inlinable
    package mutating func put(_ text: StaticString) {
        text.withUTF8Buffer { put($0) }
    }

    /// `value` in decimal, written in place (no string made of it).
    @inlinable
    package mutating func put(_ value: Int64) {
        if value < 0 { put("-") }
        put(value.magnitude)
    }

    /// `value` in decimal, written in place. Not generic: across modules a generic one ran unspecialised.
    @inlinable
    package mutating func put(_ value: UInt64) {
        var magnitude = value
        var digits = 1
        var rest = magnitude / 10
        while rest > 0 { digits += 1; rest /= 10 }
        precondition(digits <= buffer.count - count, "text longer than its buffer")
        for k in stride(from: count + digits - 1, through: count, by: -1) {
            buffer[k] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
            magnitude /= 10
        }
        count += digits
    }

    @inlinable
    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        precondition(bytes.count <= buffer.count - count, "text longer than its buffer")
        _ = UnsafeMutableBufferPointer(rebasing: buffer[count..<(count + bytes.count)]).initialize(from: bytes)
        count += bytes.count
    }
}
