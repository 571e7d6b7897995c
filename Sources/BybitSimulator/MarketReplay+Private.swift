import BybitV5
import CascadeCore
import Foundation

/// The private stream `/v5/private`: `auth` with `hex(HMAC_SHA256(secret, "GET/realtime" + expires))`, then
/// `order`, `execution`, `position` and `wallet` (also their `.linear` forms and `execution.fast`), in Bybit's
/// private envelope `{"id","topic","creationTime","data":[…]}`. No wallet snapshot on subscribe, as on Bybit.
extension MarketReplay {
    /// Topic names a private connection may subscribe to, and the records each carries.
    static let privateTopics: [String: SimPrivateTopic] = [
        "order": .order, "order.linear": .order, "execution": .execution, "execution.linear": .execution,
        "execution.fast": .execution, "execution.fast.linear": .execution, "position": .position,
        "position.linear": .position, "wallet": .wallet,
    ]
    /// Subscribable private topics that carry no records here: `dcp.future` arms the account's disconnect-cancel
    /// watch (Bybit documents no push message for it).
    static let watchTopics: Set<String> = ["dcp.future"]

    func privateAnswers(to text: String, from id: Int) -> [String] {
        let connectionID = "sim-private-\(id)"
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
              let op = object["op"] as? String else {
            return [Self.privateAck(op: "unknown", success: false, message: "Params Error", connectionID: connectionID, requestID: nil)]
        }
        let requestID = ClientRequest.requestID(object["req_id"])
        let args = object["args"] as? [Any] ?? []
        switch op {
        case "ping":
            guard answersPings else { return [] }
            let now = venueNow(wallClock.now()).nanoseconds / 1_000_000
            return [BybitPrivateEncoder.pong(requestID: requestID, now: now, connectionID: connectionID)]
        case "auth":
            let ok = authenticate(args)
            if let account = ok {
                subscribers[id]?.account = account
                privateSent[account] = (id, 0)
            }
            return [Self.privateAck(op: "auth", success: ok != nil, message: ok != nil ? "" : "Params Error",
                                    connectionID: connectionID, requestID: requestID)]
        case "subscribe", "unsubscribe":
            guard subscribers[id]?.account != nil else {
                return [Self.privateAck(op: op, success: false, message: "Request not authorized", connectionID: connectionID,
                                        requestID: requestID)]
            }
            let topics = args.compactMap { $0 as? String }
            if let bad = topics.first(where: { Self.privateTopics[$0] == nil && !Self.watchTopics.contains($0) }) {
                return [Self.privateAck(op: op, success: false, message: "error:handler not found,topic:\(bad)",
                                        connectionID: connectionID, requestID: requestID)]
            }
            for topic in topics {
                if op == "subscribe" { subscribers[id]?.topics.insert(topic) } else { subscribers[id]?.topics.remove(topic) }
            }
            if let account = subscribers[id]?.account, topics.contains("dcp.future") {
                if op == "subscribe" {
                    dcpWatched(account: account)
                } else {
                    privateConnectionEnded(account: account, wasDCPSubscriber: true)
                }
            }
            return [Self.privateAck(op: op, success: true, message: "", connectionID: connectionID, requestID: requestID)]
        default:
            return [Self.privateAck(op: op, success: false, message: "error:unsupported op \(op)", connectionID: connectionID,
                                    requestID: requestID)]
        }
    }

    /// The account `[key, expires, signature]` opens, or nil. `expires` (ms, a number or numeric string) must
    /// still be in the future on the wall clock.
    private func authenticate(_ args: [Any]) -> String? {
        guard args.count == 3, let key = args[0] as? String, let signature = args[2] as? String,
              let entry = keys[key] else { return nil }
        let expires: Int64? = (args[1] as? NSNumber)?.int64Value ?? (args[1] as? String).flatMap { Int64($0) }
        guard let expires, expires > wallClock.now().nanoseconds / 1_000_000 else { return nil }
        let expected = BybitSigner(credentials: BybitCredentials(apiKey: key, secret: entry.secret)).webSocketAuth(expires: expires)
        return expected == signature ? entry.account : nil
    }

    /// The private ack shape (docs), written by ``BybitV5/BybitPrivateEncoder``.
    static func privateAck(op: String, success: Bool, message: String, connectionID: String, requestID: String?) -> String {
        BybitPrivateEncoder.ack(op: op, success: success, message: message, connectionID: connectionID, requestID: requestID)
    }

    /// Test hook: one private message of `topic` with the given rows (JSON objects as Bybit would send them) to the
    /// account's authenticated connections now, outside the venue's own state (a row type the venue never makes,
    /// such as an execution type this build does not know).
    public func injectPrivate(account name: String, topic: String, items: [String]) {
        let listeners = connectionOrder.filter { subscribers[$0]!.isPrivate && subscribers[$0]!.account == name }
        for id in listeners where subscribers[id]?.topics.contains(topic) == true {
            privateMessageSequence += 1
            let text = BybitPrivateEncoder.message(topic: topic, id: "\(name)-\(privateMessageSequence)",
                                                   creationTime: ExchangeTime(milliseconds: exchangeClock + timeOffset), items: items)
            send(text, to: id, channel: .privateStream)
            if privateSent[name]?.connection == id { privateSent[name]?.messages += 1 }
        }
    }

    /// Sends the account's private items due by `time` (ms, recorded clock) to its authenticated connections:
    /// consecutive items of one topic travel in one message, as Bybit batches them.
    func release(account name: String, upTo time: Int64) {
        guard let index = venue.index[name], venue.accounts[index].pending.first.map({ $0.due <= time }) == true else { return }
        let due = venue.accounts[index].takeDue(upTo: time)
        let listeners = connectionOrder.filter { subscribers[$0]!.isPrivate && subscribers[$0]!.account == name }
        guard !listeners.isEmpty else { return }
        var groups: [(topic: SimPrivateTopic, due: Int64, items: [BybitAccount.Push])] = []
        for push in due {
            if let last = groups.last, last.topic == push.topic { groups[groups.count - 1].items.append(push) }
            else { groups.append((push.topic, push.due, [push])) }
        }
        for group in groups {
            for id in listeners {
                for topic in (subscribers[id]?.topics ?? []).sorted() where Self.privateTopics[topic] == group.topic {
                    // execution.fast carries trades only (Bybit: execType=Trade), fewer fields, no envelope id.
                    let fast = topic.hasPrefix("execution.fast")
                    let items = fast ? group.items.compactMap(\.fast) : group.items.map(\.item)
                    guard !items.isEmpty else { continue }
                    privateMessageSequence += 1
                    let creation = ExchangeTime(milliseconds: min(group.due, exchangeClock) + timeOffset)
                    let text = BybitPrivateEncoder.message(topic: topic, id: fast ? nil : "\(name)-\(privateMessageSequence)",
                                                           creationTime: creation, items: items)
                    send(text, to: id, channel: .privateStream)
                    if privateSent[name]?.connection == id { privateSent[name]?.messages += 1 }
                }
            }
        }
    }
}
