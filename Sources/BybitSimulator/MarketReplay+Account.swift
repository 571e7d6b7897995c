import BybitV5
import CascadeCore
import Foundation
import Simulation

/// Account-level signed endpoints: what a client (ccxt, the live node's start-up checks) asks about the key and the
/// account before it trades, and the account settings the simulator has one fixed answer for.
///
/// - `/v5/user/query-api`: the key's permissions, IPs and expiry from the accounts file.
/// - `/v5/account/info`: a UTA 2.0 account in regular (cross) margin, the one mode simulated.
/// - `/v5/account/fee-rate`: the simulator's fee schedule per symbol.
/// - `/v5/asset/coin/query-info`: USDT, with no chains (no deposits or withdrawals here).
/// - `/v5/position/switch-mode`: one-way only (`110025` when asked for it, `110029` for hedge mode).
/// - `/v5/account/set-margin-mode`: regular margin only.
/// - `/v5/order/disconnected-cancel-all` and `/v5/account/query-dcp-info`: DCP for accounts the file grants it to.
extension MarketReplay {
    func answerAccount(method: String, path: String, query: [String: String], json: [String: Any], account: String,
                       time: Int64) -> (Int, String)? {
        func ok(_ result: String, _ message: String = "OK") -> (Int, String) {
            (200, BybitRESTEncoder.envelope(result: result, retMsg: message, time: time))
        }
        func fail(_ code: BybitRetCode, _ message: String) -> (Int, String) {
            (200, BybitRESTEncoder.envelope(retCode: code, retMsg: message, time: time))
        }
        guard let spec = venue.specs.first(where: { $0.name == account }) else { return nil }
        switch (method, path) {
        case ("GET", "/v5/user/query-api"):
            let groups = spec.permissions.keys.sorted().map { ($0, spec.permissions[$0] ?? []) }
            let userID = Int64(venue.index[account] ?? 0) + 1
            let key = BybitRESTEncoder.APIKeyDescription(
                apiKey: spec.apiKey, note: "cascade sim account \(spec.name)", readOnly: spec.readOnly, permissions: groups,
                ips: spec.ips, deadlineDay: spec.ips.contains("*") ? 90 : 0, expiredAt: spec.expiredAt,
                createdAt: UTCFormat.iso8601Seconds(replayStartWallMilliseconds), userID: userID)
            return ok(BybitRESTEncoder.apiKeyInfo(key), "")
        case ("GET", "/v5/account/info"):
            return (200, BybitRESTEncoder.bareEnvelope(result: BybitRESTEncoder.accountInfo(updatedTime: replayStartWallMilliseconds),
                                                       retMsg: "OK"))
        case ("GET", "/v5/account/fee-rate"):
            guard let category = query["category"] else { return fail(.parameterError, "params error: category is required") }
            guard category == "linear" else { return ok(BybitRESTEncoder.plainList([])) }
            let fees = venue.settings.fees
            let symbols = decoder.instruments.instruments.filter { query["symbol"] == nil || $0.symbol == query["symbol"] }
            if let wanted = query["symbol"], symbols.isEmpty { return fail(.parameterError, "params error: symbol \(wanted) invalid") }
            return ok(BybitRESTEncoder.plainList(symbols.map { BybitRESTEncoder.feeRate(symbol: $0.symbol, taker: fees.taker, maker: fees.maker) }))
        case ("GET", "/v5/asset/coin/query-info"):
            if let coin = query["coin"], coin != "USDT" { return ok(BybitRESTEncoder.coinInfo(coins: []), "success") }
            return ok(BybitRESTEncoder.coinInfo(coins: ["USDT"]), "success")
        case ("POST", "/v5/position/switch-mode"):
            guard json["category"] as? String == "linear" else { return fail(.parameterError, "params error: category must be linear") }
            guard json["symbol"] is String || json["coin"] is String else {
                return fail(.parameterError, "params error: symbol or coin is required")
            }
            guard let mode = json["mode"] as? Int, json["mode"] is NSNumber else { return fail(.parameterError, "params error: position_mode invalid") }
            switch mode {
            case 0: return fail(.positionModeNotModified, "Position mode is not modified")
            case 3: return fail(.hedgeModeNotSupported, "Hedge mode is not supported for this symbol.")
            default: return fail(.parameterError, "params error: position_mode invalid")
            }
        case ("POST", "/v5/account/set-margin-mode"):
            switch json["setMarginMode"] as? String {
            case "REGULAR_MARGIN":
                return (200, BybitRESTEncoder.bareEnvelope(result: BybitRESTEncoder.marginModeReasons([]), retMsg: "Request accepted"))
            case "ISOLATED_MARGIN", "PORTFOLIO_MARGIN":
                let reasons = BybitRESTEncoder.marginModeReasons([("110073", "cascade sim simulates regular (cross) margin only")])
                return (200, BybitRESTEncoder.bareEnvelope(result: reasons, retCode: .setMarginModeFailed, retMsg: "Set margin mode failed"))
            default:
                return fail(.parameterError, "params error: setMarginMode must be ISOLATED_MARGIN, REGULAR_MARGIN or PORTFOLIO_MARGIN")
            }
        case ("POST", "/v5/order/disconnected-cancel-all"):
            let product = json["product"] as? String ?? "OPTIONS"
            guard ["OPTIONS", "DERIVATIVES", "SPOT"].contains(product) else { return fail(.parameterError, "params error: product invalid") }
            guard let window = json["timeWindow"] as? Int, json["timeWindow"] is NSNumber, (3...300).contains(window) else {
                return fail(.parameterError, "params error: timeWindow must be an integer in [3, 300]")
            }
            guard spec.dcpGranted else { return fail(.permissionDenied, "DCP is not enabled for this account; it is granted by the account manager") }
            // Only derivatives trade here; a window set for another product is kept and reported, and cancels nothing.
            var settings = dcpSettings(account)
            settings[product] = window
            dcpWindows[account] = settings
            return (200, BybitRESTEncoder.bareEnvelope(result: nil, retMsg: "success"))
        case ("GET", "/v5/account/query-dcp-info"):
            let windows = dcpSettings(account).sorted { $0.key < $1.key }.map { (product: $0.key, seconds: $0.value) }
            return ok(BybitRESTEncoder.dcpInfo(spec.dcpGranted ? windows : []), "success")
        default:
            return nil
        }
    }

    // MARK: - Disconnect-cancel (DCP)

    /// The account's DCP windows per product: Bybit's default of 10 s for derivatives once DCP is granted, or what
    /// the account set.
    func dcpSettings(_ account: String) -> [String: Int] {
        guard venue.specs.first(where: { $0.name == account })?.dcpGranted == true else { return [:] }
        return dcpWindows[account] ?? ["DERIVATIVES": 10]
    }

    /// Forgets every DCP window and pending timer (a reset gives fresh accounts).
    func resetDCP() {
        for task in dcpTimers.values { task.cancel() }
        dcpTimers = [:]
        dcpWindows = [:]
        dcpGeneration = [:]
        dcpFired = [:]
    }

    /// A private connection ended: when no connection of its account subscribed to `dcp.future` is left and the account
    /// has DCP for derivatives, the window starts; a reconnect that subscribes `dcp.future` again stops it. The window
    /// runs on the task clock (wall time, also in lockstep), like the connections it watches.
    func privateConnectionEnded(account: String, wasDCPSubscriber: Bool) {
        guard wasDCPSubscriber, let window = dcpSettings(account)["DERIVATIVES"] else { return }
        let stillWatched = subscribers.values.contains { $0.isPrivate && $0.account == account && $0.topics.contains("dcp.future") }
        guard !stillWatched else { return }
        dcpGeneration[account, default: 0] += 1
        let generation = dcpGeneration[account]!
        let timer = self.timer
        dcpTimers[account]?.cancel()
        dcpTimers[account] = Task { [weak self] in
            guard (try? await timer.sleep(for: .seconds(window))) != nil else { return }
            await self?.fireDCP(account: account, generation: generation)
        }
    }

    /// A private connection subscribed to `dcp.future`: the account is watched again, any window stops.
    func dcpWatched(account: String) {
        dcpGeneration[account, default: 0] += 1
        dcpTimers.removeValue(forKey: account)?.cancel()
    }

    /// The window passed with nobody reconnected: every active order is cancelled (`CancelByDCP`).
    func fireDCP(account: String, generation: Int) {
        guard dcpGeneration[account] == generation, let index = venue.index[account] else { return }
        dcpTimers[account] = nil
        dcpFired[account, default: 0] += 1
        let reports = venue.accounts[index].exchange.cancelAllByVenue(Cancellation(.disconnected),
                                                                      at: ExchangeTime(milliseconds: exchangeClock))
        venue.accounts[index].apply(reports, instruments: decoder.instruments)
        release(account: account, upTo: exchangeClock)
    }
}
