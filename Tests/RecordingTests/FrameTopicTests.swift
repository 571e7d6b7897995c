import CascadeTesting
import Recording
import Testing

@Suite("Topic extraction by byte scanning")
struct FrameTopicTests {
    @Test(arguments: [
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta"}"#, "orderbook.50.BTCUSDT"),
        (#"{"type":"snapshot","ts":1,"topic":"tickers.ETHUSDT"}"#, "tickers.ETHUSDT"),
        (#"{"data":{"topic":"nested.X"},"topic":"outer.Y"}"#, "outer.Y"),
        (#"{"data":[{"topic":"nested.X"}],"note":"a \"topic\":\"fake\" ,","topic":"real.Z"}"#, "real.Z"),
        (#"{ "topic" : "spaced.A" }"#, "spaced.A"),
        (#"{"topic":"_cascade.session","ts":1,"data":{}}"#, "_cascade.session"),
    ])
    func topicIsTheTopLevelKeyWhereverItIs(json: String, topic: String) {
        #expect(FrameTopic.topic(of: Array(json.utf8)) == topic)
    }

    @Test(arguments: [
        #"{"success":true,"ret_msg":"pong","op":"ping"}"#,
        #"{"data":{"topic":"nested.X"}}"#,
        #"{"topic":5}"#,
        #"[{"topic":"in.array"}]"#,
        #"{"topic":"unterminated"#,
        "",
    ])
    func framesWithoutATopLevelStringTopicHaveNone(json: String) {
        #expect(FrameTopic.topic(of: Array(json.utf8)) == nil)
    }

    @Test func symbolIsThePartAfterTheLastDotExceptForCascadeTopics() {
        #expect(FrameTopic.symbol(ofTopic: "orderbook.50.BTCUSDT") == "BTCUSDT")
        #expect(FrameTopic.symbol(ofTopic: "allLiquidation.BTCUSDT") == "BTCUSDT")
        #expect(FrameTopic.symbol(ofTopic: "_cascade.instruments") == nil)
        #expect(FrameTopic.symbol(ofTopic: "nodot") == nil)
        #expect(FrameTopic.symbol(ofTopic: "trailing.") == nil)
        #expect(FrameTopic.isCascadeTopic("_cascade.rest"))
        #expect(!FrameTopic.isCascadeTopic("tickers.BTCUSDT"))
    }
}
