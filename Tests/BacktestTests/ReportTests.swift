import Backtest
import CascadeCore
import CascadeTesting
import CZlib
import Execution
import Foundation
import Testing

/// A market with an effect, run through the backtest and all of the report's passes.
func reportFiles(directory: TemporaryDirectory, seed: UInt64 = 2) throws -> [(name: String, text: String)] {
    let path = directory.file("market.frames.gz")
    if !FileManager.default.fileExists(atPath: path) {
        try cascadeMarket(seed: seed, settleTenthsBps: 95).write(to: path)
    }
    var configuration = try BacktestConfiguration.parse(Array(placeboConfiguration.utf8), name: "report")
    configuration.placebos = placeboSettings
    configuration.sweepOffsetsBps = [10, 20]
    let runner = BacktestRunner(paths: [path], configuration: configuration, journal: InMemoryJournal())
    let result = try runner.run()
    let report = try runner.report(for: result)
    return BacktestOutput.files(result, configuration: configuration, paths: [path], report: report)
}

@Suite struct ReportTests {
    @Test func reportIsByteIdenticalAndLeadsWithTheVerdict() throws {
        let dir = try TemporaryDirectory("report")
        defer { dir.remove() }
        let first = try reportFiles(directory: dir)
        let second = try reportFiles(directory: dir)
        #expect(first.map(\.name) == second.map(\.name))
        for (a, b) in zip(first, second) { #expect(a.text == b.text, "\(a.name) differs between two runs") }
        let files = Dictionary(uniqueKeysWithValues: first.map { ($0.name, $0.text) })
        let json = try #require(files["report.json"])
        let summary = try #require(files["summary.txt"])
        // The verdict is the first line of the summary and precedes every figure of report.json.
        #expect(summary.hasPrefix("The strategy beats all 3 placebos"))
        let verdictAt = try #require(json.range(of: "\"verdict\""))
        let summaryAt = try #require(json.range(of: "\"summary\""))
        #expect(verdictAt.lowerBound < summaryAt.lowerBound)
        #expect(json.contains("\"notRealData\":true"))
        #expect(json.contains("synthetic: SyntheticCascadeMarket(seed: 2"))
        // Sample sizes are there, and small samples are called so.
        #expect(json.contains("\"sharpe\":\"insufficient sample: "))
        #expect(json.contains("\"probes\":[{\"index\":0,"))
        #expect(json.contains("\"sqn\":\"insufficient sample: "))
        // Capacity reruns and the sweep ran.
        #expect(json.contains("{\"multiplier\":10,"))
        #expect(json.contains("{\"offsetBps\":20,\"episodes\":"))
        if let keep = ProcessInfo.processInfo.environment["CASCADE_KEEP_REPORT"] {
            for file in first { try Data(file.text.utf8).write(to: URL(fileURLWithPath: keep + "/" + file.name)) }
        }
    }

    /// The HTML renders in headless Chromium (Debian package `chromium`) with the equity curve drawn: the
    /// screenshot holds a long run of the curve's colour (#c00000) across the chart's width.
    @Test func htmlRendersWithTheEquityCurveInHeadlessChromium() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("skipped: no chromium (apt-get install chromium)")
            return
        }
        let dir = try TemporaryDirectory("report-html")
        defer { dir.remove() }
        let files = try reportFiles(directory: dir)
        let html = dir.file("report.html")
        try Data(files.first { $0.name == "report.html" }!.text.utf8).write(to: URL(fileURLWithPath: html))
        let png = dir.file("shot.png")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,3000",
                             "--screenshot=\(png)", "file://\(html)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let image = try #require(PNGImage(try Data(contentsOf: URL(fileURLWithPath: png))), "not a PNG chromium writes")
        var columns = Set<Int>()
        var count = 0
        for y in 0..<image.height {
            for x in 0..<image.width {
                let (r, g, b) = image.pixel(x, y)
                if r >= 170, r <= 215, g <= 50, b <= 50 { count += 1; columns.insert(x / 10) }
            }
        }
        #expect(count >= 500, "\(count) pixels of the curve's colour")
        #expect(columns.count >= 60, "the curve spans \(columns.count * 10) px")
    }
}

/// Just enough PNG to read a Chromium screenshot: 8-bit RGB or RGBA, not interlaced.
struct PNGImage {
    let width: Int, height: Int, channels: Int
    let pixels: [UInt8]

    init?(_ data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8] == [137, 80, 78, 71, 13, 10, 26, 10] else { return nil }
        func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var i = 8, w = 0, h = 0, ch = 0
        var idat: [UInt8] = []
        while i + 8 <= bytes.count {
            let length = u32(i)
            let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            let body = (i + 8)..<(i + 8 + length)
            if type == "IHDR" {
                w = u32(body.lowerBound)
                h = u32(body.lowerBound + 4)
                guard bytes[body.lowerBound + 8] == 8, bytes[body.lowerBound + 12] == 0 else { return nil }
                switch bytes[body.lowerBound + 9] { case 2: ch = 3; case 6: ch = 4; default: return nil }
            } else if type == "IDAT" {
                idat += bytes[body]
            }
            i = body.upperBound + 4
        }
        guard w > 0, h > 0, ch > 0 else { return nil }
        let stride = w * ch
        var raw = [UInt8](repeating: 0, count: h * (stride + 1))
        var rawCount = uLongf(raw.count)
        let rc = raw.withUnsafeMutableBufferPointer { out in
            idat.withUnsafeBufferPointer { uncompress(out.baseAddress, &rawCount, $0.baseAddress, uLong($0.count)) }
        }
        guard rc == Z_OK, Int(rawCount) == raw.count else { return nil }
        var pixels = [UInt8](repeating: 0, count: h * stride)
        for y in 0..<h {
            let filter = raw[y * (stride + 1)]
            for x in 0..<stride {
                let v = raw[y * (stride + 1) + 1 + x]
                let a = x >= ch ? Int(pixels[y * stride + x - ch]) : 0
                let b = y > 0 ? Int(pixels[(y - 1) * stride + x]) : 0
                let c = x >= ch && y > 0 ? Int(pixels[(y - 1) * stride + x - ch]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                default: return nil
                }
                pixels[y * stride + x] = UInt8((Int(v) + predictor) & 0xff)
            }
        }
        width = w
        height = h
        channels = ch
        self.pixels = pixels
    }

    func pixel(_ x: Int, _ y: Int) -> (Int, Int, Int) {
        let i = (y * width + x) * channels
        return (Int(pixels[i]), Int(pixels[i + 1]), Int(pixels[i + 2]))
    }
}

