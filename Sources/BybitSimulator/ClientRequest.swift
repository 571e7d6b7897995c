import Foundation

/// A request frame a WebSocket client sent (`op`, `req_id`, string `args`).
struct ClientRequest {
    var op: String
    var requestID: String
    var args: [String]

    init?(_ text: String) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
              let op = object["op"] as? String else { return nil }
        self.op = op
        requestID = Self.requestID(object["req_id"]) ?? ""
        args = (object["args"] as? [Any])?.compactMap { $0 as? String } ?? []
    }

    /// `req_id` as Bybit echoes it: a string as sent, an integer in its decimal form (ccxt sends numbers; Bybit's
    /// acks quoted by ccxt carry them back as strings); nil when absent.
    static func requestID(_ value: Any?) -> String? {
        if let text = value as? String { return text }
        // A JSON boolean is an NSNumber too (of a Boolean subclass; `is Bool` also holds for the number 1 on Linux).
        guard let number = value as? NSNumber, !String(describing: type(of: number)).contains("Boolean") else { return nil }
        // An integer in its decimal form (exactly: a fraction or an out-of-range number is not an id).
        let whole = number.int64Value
        if NSNumber(value: whole) == number { return String(whole) }
        return nil
    }
}
