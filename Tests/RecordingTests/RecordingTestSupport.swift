import CascadeCore
import CascadeTesting
import Foundation
import Recording

/// Seeded synthetic Bybit-shaped frames for recording tests (never `random()`: every run, every
/// machine gets the same bytes, so a failure can be reproduced from the seed).
struct SeededFrameGenerator {
    private var rng: SeededRandom
    private var time: Int64
    private var counter: UInt64 = 18_000_000
    /// Topics drawn from, shaped like Bybit public topics (symbol after the last dot).
    static let topics = ["orderbook.50.BTCUSDT", "publicTrade.ETHUSDT", "tickers.SOLUSDT", "orderbook.200.ETHUSDT"]

    init(seed: UInt64, startNanoseconds: Int64 = 1_721_347_021_295_000_000) {
        rng = SeededRandom(seed: seed)
        time = startNanoseconds
    }

    /// Next frame, the first at the start time; then receive time advances by
    /// 0...`maxStepNanoseconds` per frame (0 gives equal times, as
    /// several topics published on one tick do), payload length varies from tens of bytes to
    /// ~2 KiB, with an occasional ~40 KiB frame so lines straddle buffer boundaries.
    mutating func next(maxStepNanoseconds: Int64 = 40_000_000) -> FrameRecord {
        defer { time += Int64(rng.next() % UInt64(maxStepNanoseconds + 1)) }
        counter += 1
        let topic = Self.topics[Int(rng.next() % UInt64(Self.topics.count))]
        let levels = rng.next() % 50 == 0 ? 2000 : Int(rng.next() % 60)
        var json = #"{"topic":"\#(topic)","type":"delta","ts":\#(time / 1_000_000),"data":{"b":["#
        for i in 0..<levels {
            if i > 0 { json += "," }
            json += #"["\#(60_000 + rng.next() % 9_000).\#(rng.next() % 10)0","\#(rng.next() % 100).\#(rng.next() % 1000)"]"#
        }
        json += #"],"u":\#(counter)},"cts":\#(time / 1_000_000 - 3)}"#
        return FrameRecord(localTime: LocalTime(nanoseconds: time), bytes: Array(json.utf8))
    }

    /// `count` frames.
    mutating func frames(_ count: Int, maxStepNanoseconds: Int64 = 40_000_000) -> [FrameRecord] {
        (0..<count).map { _ in next(maxStepNanoseconds: maxStepNanoseconds) }
    }

    /// A value in `range`, from the same seeded stream.
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(rng.next() % UInt64(range.count))
    }
}

/// Everything a reader returns, copied, plus its final statistics.
func readAll(_ path: String, compression: FrameFileReader.Compression = .automatic,
             chunkSize: Int = 256 * 1024) throws -> (frames: [FrameRecord], lineNumbers: [Int], stats: ReaderStats) {
    var reader = try FrameFileReader(path: path, compression: compression, chunkSize: chunkSize)
    var frames: [FrameRecord] = []
    var lineNumbers: [Int] = []
    while let line = try reader.next() {
        frames.append(line.record)
        lineNumbers.append(line.lineNumber)
    }
    return (frames, lineNumbers, reader.stats)
}

/// Writes `frames` with a flush after each group of `memberSizes` frames (cycled); returns the
/// file offset after each flush and the number of frames on disk at that offset.
@discardableResult
func writeFrames(_ frames: [FrameRecord], to path: String, memberSizes: [Int]) throws -> [(offset: Int64, frames: Int)] {
    let writer = try FrameFileWriter(path: path)
    var boundaries: [(offset: Int64, frames: Int)] = []
    var inMember = 0
    var sizeIndex = 0
    for frame in frames {
        try writer.append(localTime: frame.localTime, json: frame.bytes)
        inMember += 1
        if inMember == memberSizes[sizeIndex % memberSizes.count] {
            try writer.flush()
            boundaries.append((writer.bytesWritten, writer.framesWritten))
            inMember = 0
            sizeIndex += 1
        }
    }
    try writer.close()
    if inMember > 0 { boundaries.append((writer.bytesWritten, writer.framesWritten)) }
    return boundaries
}

/// Raw bytes of a file.
func fileBytes(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes raw bytes to a file, replacing it.
func writeBytes<S: Sequence<UInt8>>(_ bytes: S, to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// `<ns> <json>\n` lines of frames, the plain-text form of frames format v1.
func plainText(_ frames: [FrameRecord]) -> [UInt8] {
    var out: [UInt8] = []
    for f in frames {
        out += Array(String(f.localTime.nanoseconds).utf8)
        out.append(0x20)
        out += f.bytes
        out.append(0x0A)
    }
    return out
}
