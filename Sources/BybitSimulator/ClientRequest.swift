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
        requestID = (object["req_id"] as? String) ?? ""
        args = (object["args"] as? [Any])?.compactMap { $0 as? String } ?? []
    }
}
