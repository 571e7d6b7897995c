import CascadeCore
import CascadeTesting
import Recording
import Testing

@Suite struct MeasuredLatencyTests {
    @Test func halfOfEachRecordedRoundTripIsOneSample() throws {
        let dir = try TemporaryDirectory("latency")
        defer { dir.remove() }
        let path = dir.file("clock.frames.gz")
        let writer = try FrameFileWriter(path: path)
        // Round trips of 20 ms, 7 ms (→ 4 after rounding up), 0.5 ms (→ 1 at least); a trade frame in between is ignored.
        for (i, (sent, received)) in [(1_000_000_000, 1_020_000_000), (2_000_000_000, 2_007_000_000), (3_000_000_000, 3_000_500_000)].enumerated() {
            let data = Array(#"{"sentNs":\#(sent),"receivedNs":\#(received),"response":{"retCode":0,"result":{"timeNano":"1"}}}"#.utf8)
            try writer.append(localTime: LocalTime(nanoseconds: Int64(received)),
                              json: CascadePseudoTopic.clock.frameJSON(localTimeNanoseconds: Int64(received), dataJSON: data))
            if i == 0 {
                try writer.append(localTime: LocalTime(nanoseconds: 1_500_000_000),
                                  json: Array(#"{"topic":"publicTrade.BTCUSDT","ts":1,"data":[{"sentNs":1,"receivedNs":999999999}]}"#.utf8))
            }
        }
        try writer.close()
        #expect(try MeasuredLatency.oneWayMilliseconds(paths: [path]) == [10, 4, 1])
    }
}
