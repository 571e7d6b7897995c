import BybitV5
import CascadeCore
import Foundation
import MarketData
import Simulation

/// Test controls under `/_cascade/` (not Bybit endpoints; the server binds to loopback by default):
/// `POST /_cascade/advance` `{"frames":N}` or `{"ms":M}` (lockstep), `POST /_cascade/reset` (fresh accounts on the
/// current market), `POST /_cascade/faults` (a ``SimFaultPlan`` as JSON), `POST /_cascade/restart-venue` (Bybit
/// restarted: connections drop, `realtime` forgets ended orders), `GET /_cascade/status`.
extension MarketReplay {
    func answerControl(method: String, path: String, body: [UInt8]) -> (Int, String) {
        let object = (try? JSONSerialization.jsonObject(with: Data(body.isEmpty ? Array("{}".utf8) : body))) as? [String: Any]
        func error(_ status: Int, _ message: String) -> (Int, String) {
            (status, #"{"error":"\#(BybitStreamRequest.escape(message))"}"#)
        }
        switch (method, path) {
        case ("GET", "/_cascade/status"):
            return (200, statusJSON())
        case ("POST", "/_cascade/advance"):
            guard speed == .lockstep else { return error(409, "advance needs --speed lockstep") }
            guard let object else { return error(400, "body must be a JSON object") }
            let frames = (object["frames"] as? NSNumber)?.intValue
            let ms = (object["ms"] as? NSNumber)?.int64Value
            guard frames != nil || ms != nil else { return error(400, "give \"frames\" or \"ms\"") }
            if let frames, frames < 0 { return error(400, "frames must be ≥ 0") }
            if let ms, ms < 0 { return error(400, "ms must be ≥ 0") }
            do {
                let step = try advance(frames: frames, milliseconds: ms)
                return (200, #"{"frames":\#(step.frames),"finished":\#(step.finished),"exchangeTime":\#(step.exchangeTime),"framesReplayed":\#(framesReplayed)}"#)
            } catch {
                return self.error(500, "replay failed: \(error)")
            }
        case ("POST", "/_cascade/reset"):
            resetAccounts()
            return (200, statusJSON())
        case ("POST", "/_cascade/restart-venue"):
            restartVenue()
            return (200, statusJSON())
        case ("POST", "/_cascade/faults"):
            do {
                setFaults(try SimFaultPlan.parse(body))
                return (200, statusJSON())
            } catch {
                return self.error(400, error.description)
            }
        default:
            return error(404, "unknown control \(method) \(path)")
        }
    }

    private func error(_ status: Int, _ message: String) -> (Int, String) {
        (status, #"{"error":"\#(BybitStreamRequest.escape(message))"}"#)
    }

    private func statusJSON() -> String {
        #"{"framesReplayed":\#(framesReplayed),"framesSent":\#(framesSent),"finished":\#(finished),"exchangeTime":\#(exchangeClock + timeOffset),"timeOffset":\#(timeOffset),"accounts":\#(venue.accounts.count),"connections":\#(subscribers.count),"slowConsumersClosed":\#(slowConsumersDisconnected),"faults":\#(faults.isActive),"clockOffsetsMs":[\#(clockOffsets.map { $0.map { String($0 / 1_000_000) } ?? "null" }.joined(separator: ","))]}"#
    }

    /// Every account starts again from its deposit (no orders, positions or executions) on the market as it is
    /// now: each symbol's venue is seeded with the current book and ticker, so trading goes on at once.
    public func resetAccounts() {
        rateWindows = [:]
        privateOutage = false
        resetDCP()
        venue.reset(feed: driver.feed, instruments: decoder.instruments, timeOffset: timeOffset)
    }
}
