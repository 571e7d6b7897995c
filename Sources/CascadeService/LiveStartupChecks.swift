import BybitV5
public import BybitV5Client
public import CascadeCore
public import Execution
import Foundation

/// What `cascade live` checks with Bybit before it trades, and refuses to start on (client review "start-up
/// checks"; issue 13 scope 4). It never changes a user's account setting except the leverage it is told to use:
/// a position mode or margin mode that differs from the configuration is a refusal saying what to change.
public struct LiveStartupChecks: Sendable {
    public var symbols: [String]
    /// `REGULAR_MARGIN` (cross), `ISOLATED_MARGIN` or `PORTFOLIO_MARGIN`, as `/v5/account/info` prints it.
    public var marginMode = "REGULAR_MARGIN"
    public var leverage: Rate
    /// Bybit's disconnect-cancel window for derivatives (3…300 s), armed when the account has DCP (granted by
    /// Bybit's account managers to few accounts); nil: never armed. Without it the local watchdog is the dead-man.
    public var dcpWindowSeconds: Int? = 10

    public init(symbols: [String], leverage: Rate) {
        self.symbols = symbols
        self.leverage = leverage
    }

    /// What the checks found.
    public struct Report: Sendable {
        public var lines: [String] = []
        public var warnings: [String] = []
        /// The USDT wallet balance: the engine's starting balance.
        public var walletBalance: USDT = .zero
        public var serverOffsetMilliseconds: Int64 = 0
        /// Bybit's position of each symbol (signed: negative short), to compare with the journal's.
        public var positions: [String: Quantity] = [:]
        /// The disconnect-cancel window armed at Bybit (nil: the account has no DCP; the local watchdog acts alone).
        public var dcpArmedSeconds: Int?
    }

    /// Why the node may not start: one readable line per problem.
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    struct AccountInfo: Decodable, Sendable {
        var marginMode: String?
        var unifiedMarginStatus: Int?
    }

    /// What refuses the start in `GET /v5/account/info`: a classic account (`unifiedMarginStatus` 1; Cascade reads
    /// and trades a unified trading account's wallet, which a classic account does not have: it would otherwise be
    /// refused for "no USDT balance"), or a margin mode other than the configured one.
    static func accountProblems(_ info: AccountInfo, marginMode: String) -> [String] {
        var problems: [String] = []
        if info.unifiedMarginStatus == 1 {
            problems.append("the account is a classic account (unifiedMarginStatus 1): Cascade trades through a unified trading account; upgrade it in Bybit (Cascade never changes it)")
        }
        if let mode = info.marginMode, mode != marginMode {
            problems.append("the account is in \(mode); Cascade is configured for \(marginMode): change the margin mode in Bybit (Cascade never switches it)")
        }
        return problems
    }

    struct InstrumentsList: Decodable, Sendable {
        struct Item: Decodable, Sendable {
            var symbol: String
            var status: String?
        }
        var list: [Item]
    }

    /// Permissions a trading key must never have: it could move money out.
    public static let forbiddenPermissions: [String: Set<String>] = [
        "Wallet": ["Withdraw", "AccountTransfer", "SubMemberTransfer"],
    ]

    public func run(_ rest: BybitRESTClient) async throws -> Report {
        var report = Report()
        var problems: [String] = []
        do {
            report.serverOffsetMilliseconds = try await rest.synchronizeTime()
            report.lines.append("clock       Bybit − local \(report.serverOffsetMilliseconds) ms")
        } catch {
            throw Refusal(problems: ["cannot reach Bybit's REST API (\(await rest.baseURL)): \(error)"])
        }
        // The key: trading permissions, never withdrawals or transfers.
        do {
            guard let key = try await rest.send(.queryApiKey(), as: BybitAPIKeyInfo.self).result else {
                throw Refusal(problems: ["query-api answered without a result"])
            }
            for (group, forbidden) in Self.forbiddenPermissions {
                let granted = Set(key.permissions[group] ?? []).intersection(forbidden)
                if !granted.isEmpty {
                    problems.append("the API key may \(granted.sorted().joined(separator: ", ")) (\(group)): create a key without withdrawal or transfer permissions")
                }
            }
            if key.readOnly { problems.append("the API key is read-only: it cannot place orders") }
            let trade = Set(key.permissions["ContractTrade"] ?? [])
            if !trade.isSuperset(of: ["Order", "Position"]) {
                problems.append("the API key lacks ContractTrade Order and Position permissions (it has: \(trade.sorted().joined(separator: ", ")))")
            }
            if key.ips.isEmpty || key.ips.contains("*") {
                report.warnings.append("the API key is not bound to an IP address: anyone holding it can trade, and Bybit expires unbound keys")
            }
            let expiry = (key.expiredAt?.isEmpty ?? true) ? "no expiry date" : "expires \(key.expiredAt!)"
            let days = key.deadlineDay.flatMap { $0 > 0 ? " (\($0) days left)" : nil } ?? ""
            report.lines.append("key         \(key.apiKey.prefix(4))…, permissions ContractTrade \(trade.sorted().joined(separator: "/")), \(expiry)\(days)")
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw Refusal(problems: ["the API key was refused by Bybit (\(error)): check the key, its secret and that it belongs to this environment"])
        }
        // The account: unified, in the margin mode the configuration assumes.
        if let info = try await rest.send(.accountInfo(), as: AccountInfo.self).result {
            problems += Self.accountProblems(info, marginMode: marginMode)
            report.lines.append("account     \(info.marginMode ?? "margin mode not reported"), unifiedMarginStatus \(info.unifiedMarginStatus.map(String.init) ?? "?")")
        }
        // Each symbol: listed and trading, one-way mode, the leverage set.
        for symbol in symbols {
            let instruments = try await rest.send(try .instrumentsInfo(symbol: symbol), as: InstrumentsList.self).result
            guard let item = instruments?.list.first(where: { $0.symbol == symbol }) else {
                problems.append("\(symbol): not a Bybit linear instrument")
                continue
            }
            if let status = item.status, status != "Trading" { problems.append("\(symbol): status \(status), not Trading") }
            var table = InstrumentTable()
            let positions = try await rest.send(try .positionList(.symbol(symbol)), as: BybitPositionListResult.self).result?
                .positions(instruments: &table) ?? []
            if positions.contains(where: { $0.positionIndex != nil && $0.positionIndex != .oneWay }) {
                problems.append("\(symbol): the account is in hedge mode; switch \(symbol) to one-way mode in Bybit (Cascade never switches it)")
            }
            report.positions[symbol] = Quantity(units: positions.reduce(0) { $0 + $1.signedSize.units })
            // Nothing on the account changes once a refusal is certain.
            guard problems.isEmpty else { continue }
            do {
                _ = try await rest.send(try .setLeverage(symbol: symbol, buyLeverage: leverage, sellLeverage: leverage), as: BybitEmptyResult.self)
            } catch let error as BybitClientError {
                if case let .rest(.api(e)) = error, e.retCode == .leverageNotModified {
                    // Already at this leverage (110043).
                } else {
                    problems.append("\(symbol): leverage \(leverage) was refused: \(error)")
                }
            }
            report.lines.append("\(symbol.padding(toLength: 11, withPad: " ", startingAt: 0)) trading, one-way, leverage \(leverage)")
        }
        // The balance the engine starts from is Bybit's.
        if let wallet = try await rest.send(.walletBalance(coins: ["USDT"]), as: BybitWalletBalanceResult.self).result?.unified,
           let usdt = wallet.usdt?.walletBalance {
            report.walletBalance = usdt.usdt
            report.lines.append("wallet      \(report.walletBalance) USDT")
        } else {
            problems.append("the wallet has no USDT balance to trade with")
        }
        if !problems.isEmpty { throw Refusal(problems: problems) }
        // The dead-man at Bybit: armed where the account has it (the private stream then subscribes `dcp.future`).
        if let window = dcpWindowSeconds {
            do {
                _ = try await rest.send(try .disconnectedCancelAll(timeWindowSeconds: window, product: "DERIVATIVES"), as: BybitEmptyResult.self)
                report.dcpArmedSeconds = window
                report.lines.append("dead-man    Bybit disconnect-cancel armed (\(window) s), and the local watchdog")
            } catch {
                report.lines.append("dead-man    local watchdog only (Bybit disconnect-cancel not available: \(error))")
            }
        }
        return report
    }

    /// Symbols the journal still holds something in (a position, an order not ended, a ladder not closed: a cancel
    /// can announce fills still on their way) that the node is no longer configured to trade. The node numbers only
    /// its traded symbols, so its restored engine would book none of that symbol's fills, nothing would manage its
    /// orders or position (the exchange-side stop still stands), and the check against Bybit's positions reads only
    /// the traded symbols: the start is refused, one line per symbol. The journal alone is read (so settling at Bybit
    /// by hand does not clear it): the way out is to trade the symbol again until the node has settled it. Every
    /// symbol the journal names is registered, so a fill is booked even where no trading rules were journaled.
    public static func untradedJournalSymbols(journal entries: [JournalEntry], configuration: EngineConfiguration,
                                              traded symbols: [String]) -> [String] {
        var table = TradingEngine.instrumentTable(from: entries)
        for entry in entries {
            switch entry {
            case let .decision(d):
                for intent in d.intents { _ = table.id(for: intent.symbol) }
                for ladder in d.ladders { _ = table.id(for: ladder.symbol) }
            case let .report(symbol?, _), let .call(symbol, _, _, _):
                _ = table.id(for: symbol)
            default:
                break
            }
        }
        let engine = TradingEngine.restore(from: entries, configuration: configuration, instruments: table)
        let traded = Set(symbols)
        return table.instruments.map(\.symbol).filter { !traded.contains($0) }.sorted().compactMap { symbol in
            let booked = table.lookup(symbol).map { engine.portfolio.size($0) } ?? 0
            let reported = engine.positions[symbol]?.size.units ?? 0
            let orders = engine.tracker.open.filter { engine.tracker.orders[$0]?.symbol == symbol }.map(\.rawValue)
            let ladder = engine.activeLadder[symbol]
            var held: [String] = []
            if booked != 0 || reported != 0 {
                held.append("a position of \(FixedDecimal.format(booked, digits: Quantity.digits)) booked and "
                            + "\(FixedDecimal.format(reported, digits: Quantity.digits)) as Bybit last reported it")
            }
            if !orders.isEmpty { held.append("\(orders.count) order\(orders.count == 1 ? "" : "s") not ended (\(orders.joined(separator: ", ")))") }
            if let ladder { held.append("ladder \(ladder) not closed") }
            guard !held.isEmpty else { return nil }
            return "\(symbol): the journal holds \(held.joined(separator: ", ")), but \(symbol) is no longer among --symbols: "
                + "add it back and let the node settle it with Bybit (ladder closed, position flat), then remove it"
        }
    }

    /// Every position Bybit holds must be the journal's: Cascade never adopts one it cannot explain. A difference the
    /// journal's own open or unknown orders of that symbol can explain (a crash between a fill and its journaling) is
    /// left to the private stream's backfill, and checked again while running (quarantine on two mismatches). One
    /// line per symbol that refuses the start.
    public static func unexplainedPositions(venue: [String: Quantity], journaled: TradingEngine, instruments: InstrumentTable) -> [String] {
        instruments.instruments.compactMap { instrument in
            let held = venue[instrument.symbol]?.units ?? 0
            let mine = journaled.portfolio.size(instrument.id)
            let pending = journaled.tracker.open.contains { journaled.tracker.orders[$0]?.symbol == instrument.symbol }
            guard held != mine, !pending else { return nil }
            return "\(instrument.symbol): Bybit holds \(FixedDecimal.format(held, digits: Quantity.digits)), the journal \(FixedDecimal.format(mine, digits: Quantity.digits)): close or settle the difference by hand (Cascade never adopts a position it did not open)"
        }
    }
}
