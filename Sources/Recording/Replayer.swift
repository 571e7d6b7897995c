#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import CascadeCore
import Foundation

/// Which frames a ``Replayer`` returns.
public struct ReplayOptions: Sendable, Hashable {
    /// Keep frames received at or after this time (nil: from the start).
    public var from: LocalTime?
    /// Keep frames received strictly before this time (nil: to the end).
    public var to: LocalTime?
    /// Keep frames whose topic's symbol (``FrameTopic/symbol(ofTopic:)``) is in the set; reserved
    /// `_cascade.*` frames are always kept (instrument rules and session events apply to every
    /// symbol), frames without a topic are dropped. Nil keeps everything.
    public var symbols: Set<String>?
    /// Per file (by index), nanoseconds subtracted from its receive times before merging: each file's estimated
    /// receive − exchange offset (``ClockOffset``), so files from different clocks merge in exchange order.
    /// Returned frames carry the corrected time. Empty: no correction. `from`/`to` apply to recorded times.
    public var clockCorrections: [Int64] = []

    /// Creates options; the defaults keep every frame.
    public init(from: LocalTime? = nil, to: LocalTime? = nil, symbols: Set<String>? = nil, clockCorrections: [Int64] = []) {
        self.from = from
        self.to = to
        self.symbols = symbols
        self.clockCorrections = clockCorrections
    }

    /// The correction of file `index` (0 when none is set).
    func correction(_ index: Int) -> Int64 { index < clockCorrections.count ? clockCorrections[index] : 0 }
}

/// One frame returned by ``Replayer``: a view valid until the replayer's next `next()` call.
public struct ReplayedFrame {
    /// Index of the file in the list given to the replayer.
    public var fileIndex: Int
    /// 1-based line number inside that file.
    public var lineNumber: Int
    /// Receive time (minus the file's clock correction, when one is set).
    public var localTime: LocalTime
    /// The frame's JSON text. Invalid after the replayer advances; copy with ``bytes``.
    public var json: UnsafeRawBufferPointer

    /// A copy of the JSON bytes.
    public var bytes: [UInt8] { Array(json) }
}

/// Merges many frames files into one stream in receive-time order, in constant memory.
///
/// A k-way merge with one pending line per file in a min-heap. Ties are broken by the file's
/// position in the list, then by line number, so a replay is deterministic and files recorded
/// side by side (one per connection) interleave the same way every time. Within one file the
/// file order is kept even if its receive times step back (a local clock adjustment): the merge
/// never reorders a file's own lines.
///
/// A file with a manifest (first/last receive time) is opened only when the merge reaches its first
/// frame, and never when it lies outside `from`/`to`: a month of hourly files holds only the files that
/// overlap in time open (each about `2 * chunkSize` plus zlib's 40 KiB). A file without a manifest (a
/// crash left none) is opened up front.
public struct Replayer {
    /// The options in force.
    public let options: ReplayOptions
    /// Frames read but not returned because of the options.
    public private(set) var framesFilteredOut = 0

    private var readers: [FrameFileReader?]
    /// Files not opened yet, by the receive time of their first frame (from their manifest).
    private var deferred: [(firstTime: Int64, fileIndex: Int, path: String)] = []
    private let chunkSize: Int
    private var heap: [HeapEntry] = []
    /// The line each file has in the heap; its view stays valid because that reader is only
    /// advanced after the caller is done with the line (see `returnedFile`).
    private var pending: [FrameLine?]
    /// File whose line was returned last; it is advanced at the start of the next call.
    private var returnedFile: Int?
    private let symbolBytes: [[UInt8]]?

    /// Opens every file. `chunkSize` is each reader's read size (smaller saves memory when
    /// merging many files).
    public init(paths: [String], options: ReplayOptions = ReplayOptions(), chunkSize: Int = 64 * 1024) throws(RecordingError) {
        self.options = options
        self.chunkSize = chunkSize
        self.readers = Array(repeating: nil, count: paths.count)
        self.pending = Array(repeating: nil, count: paths.count)
        self.symbolBytes = options.symbols.map { set in set.sorted().map { Array($0.utf8) } }
        for (i, path) in paths.enumerated() {
            // Missing files fail now, not half-way through a replay.
            // Opened and closed at once: the error is the system's own (ENOENT, EACCES, ENOTDIR, …).
            close(try POSIXIO.openForReading(path))
            if let manifest = try? FrameManifest.read(forDataFile: path), manifest.frames > 0,
               let first = manifest.firstLocalTimeNs, let last = manifest.lastLocalTimeNs {
                if let to = options.to, first >= to.nanoseconds { continue }
                if let from = options.from, last < from.nanoseconds { continue }
                deferred.append((first - options.correction(i), i, path))
            } else {
                try open(i, path)
            }
        }
        deferred.sort { ($0.firstTime, $0.fileIndex) < ($1.firstTime, $1.fileIndex) }
    }

    /// Merges already opened readers (file index = position in `readers`).
    public init(readers: [FrameFileReader], options: ReplayOptions = ReplayOptions()) throws(RecordingError) {
        self.readers = readers
        self.options = options
        self.chunkSize = 64 * 1024
        self.pending = Array(repeating: nil, count: readers.count)
        self.symbolBytes = options.symbols.map { set in set.sorted().map { Array($0.utf8) } }
        heap.reserveCapacity(readers.count)
        for i in readers.indices { try advance(i) }
    }

    /// Number of files merged.
    public var fileCount: Int { readers.count }

    /// Reader statistics per file (final for a file once it is exhausted; empty for a file never opened).
    public var fileStats: [ReaderStats] { readers.map { $0?.stats ?? ReaderStats() } }

    /// Reader statistics summed over all files.
    public var totalStats: ReaderStats { fileStats.reduce(ReaderStats()) { $0 + $1 } }

    private mutating func open(_ i: Int, _ path: String) throws(RecordingError) {
        readers[i] = try FrameFileReader(path: path, compression: .automatic, chunkSize: chunkSize)
        try advance(i)
    }

    /// Opens every deferred file whose first frame is not after the earliest pending frame, so the merge
    /// order (time, file, line) is the same as if every file had been open from the start.
    private mutating func openDue() throws(RecordingError) {
        while let next = deferred.first, heap.isEmpty || next.firstTime <= heap[0].time {
            deferred.removeFirst()
            try open(next.fileIndex, next.path)
        }
    }

    /// The next frame in (receive time, file index, line number) order, or nil when all files
    /// are exhausted.
    public mutating func next() throws(RecordingError) -> ReplayedFrame? {
        if let f = returnedFile {
            returnedFile = nil
            try advance(f)
        }
        try openDue()
        guard let top = popMin(), let line = pending[top.fileIndex] else { return nil }
        pending[top.fileIndex] = nil
        returnedFile = top.fileIndex
        return ReplayedFrame(fileIndex: top.fileIndex, lineNumber: line.lineNumber,
                             localTime: LocalTime(nanoseconds: top.time), json: line.json)
    }

    // MARK: - Private

    private struct HeapEntry {
        var time: Int64
        var fileIndex: Int
        var lineNumber: Int

        static func < (a: HeapEntry, b: HeapEntry) -> Bool {
            if a.time != b.time { return a.time < b.time }
            if a.fileIndex != b.fileIndex { return a.fileIndex < b.fileIndex }
            return a.lineNumber < b.lineNumber
        }
    }

    /// Reads file `i` up to its next kept line and puts it in the heap.
    private mutating func advance(_ i: Int) throws(RecordingError) {
        while let line = try readers[i]?.next() {
            guard keeps(line) else {
                framesFilteredOut += 1
                continue
            }
            pending[i] = line
            push(HeapEntry(time: line.localTime.nanoseconds - options.correction(i), fileIndex: i, lineNumber: line.lineNumber))
            return
        }
    }

    private func keeps(_ line: FrameLine) -> Bool {
        if let from = options.from, line.localTime < from { return false }
        if let to = options.to, line.localTime >= to { return false }
        guard let symbolBytes else { return true }
        guard let topicRange = FrameTopic.topicRange(in: line.json) else { return false }
        let topic = UnsafeRawBufferPointer(rebasing: line.json[topicRange])
        if FrameTopic.isCascadeTopic(topic) { return true }
        guard let symbolRange = FrameTopic.symbolRange(inTopic: topic) else { return false }
        let symbol = UnsafeRawBufferPointer(rebasing: topic[symbolRange])
        for wanted in symbolBytes where wanted.count == symbol.count {
            let same = wanted.withUnsafeBytes { memcmp($0.baseAddress!, symbol.baseAddress!, symbol.count) == 0 }
            if same { return true }
        }
        return false
    }

    private mutating func push(_ entry: HeapEntry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popMin() -> HeapEntry? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        if heap.isEmpty { return top }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left] < heap[smallest] { smallest = left }
            if right < heap.count && heap[right] < heap[smallest] { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
