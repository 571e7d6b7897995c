/// What a ``FrameFileReader`` met while reading one file: counted, never thrown, so one damaged
/// file in a month of recordings does not stop a replay.
public struct ReaderStats: Sendable, Hashable {
    /// Lines seen, valid or not (a partial line dropped at a torn or corrupt end is not counted).
    public var lines = 0
    /// Frames returned.
    public var frames = 0
    /// Lines skipped because they were not `<digits> <non-empty JSON>`.
    public var malformedLines = 0
    /// 1 when the file ended inside a gzip member (a write torn by a crash); its complete lines
    /// were returned and the partial last line dropped.
    public var tornTail = 0
    /// Gzip members that failed to decode (bad deflate data, CRC or length mismatch). Reading
    /// stops at the first one; lines of earlier members were returned.
    public var corruptMembers = 0
    /// Complete gzip members decoded (0 for plain-text input).
    public var gzipMembers = 0
    /// 1 when the last line of a cleanly ended file had no `\n`; the line was still returned (a
    /// complete member proves the writer meant to end it there).
    public var unterminatedFinalLine = 0
    /// Bytes read from the file (compressed size for gzip input).
    public var bytesRead: Int64 = 0

    /// Creates empty statistics.
    public init() {}

    /// True when nothing was skipped, torn or corrupt.
    public var isClean: Bool { malformedLines == 0 && tornTail == 0 && corruptMembers == 0 }

    /// Sums two files' statistics (for a replay over many files).
    public static func + (a: ReaderStats, b: ReaderStats) -> ReaderStats {
        var s = ReaderStats()
        s.lines = a.lines + b.lines
        s.frames = a.frames + b.frames
        s.malformedLines = a.malformedLines + b.malformedLines
        s.tornTail = a.tornTail + b.tornTail
        s.corruptMembers = a.corruptMembers + b.corruptMembers
        s.gzipMembers = a.gzipMembers + b.gzipMembers
        s.unterminatedFinalLine = a.unterminatedFinalLine + b.unterminatedFinalLine
        s.bytesRead = a.bytesRead + b.bytesRead
        return s
    }
}
