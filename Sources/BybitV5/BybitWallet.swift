public import CascadeCore

/// One account from the private `wallet` stream (§3.6) or `GET /v5/account/wallet-balance`.
///
/// Account totals are USD values that Bybit prints with at most eight decimals; they are carried in
/// ``CascadeCore/USDT`` (same 1e-8 unit). Per-coin amounts are in that coin (``BybitCoinAmount``). Bybit sends no
/// wallet snapshot on subscribe, and unrealised-PnL changes alone do not trigger a message.
public struct BybitWallet: Hashable, Sendable, Decodable {
    /// `accountType` (`UNIFIED`).
    public var accountType: String
    /// `totalEquity` (USD).
    public var totalEquity: USDT?
    /// `totalWalletBalance` (USD).
    public var totalWalletBalance: USDT?
    /// `totalMarginBalance` (USD).
    public var totalMarginBalance: USDT?
    /// `totalAvailableBalance` (USD): what cross-margin derivatives can still use.
    public var totalAvailableBalance: USDT?
    /// `totalPerpUPL` (USD).
    public var totalPerpUPL: USDT?
    /// `totalInitialMargin` (USD).
    public var totalInitialMargin: USDT?
    /// `totalMaintenanceMargin` (USD).
    public var totalMaintenanceMargin: USDT?
    /// `accountIMRate`.
    public var accountIMRate: Rate?
    /// `accountMMRate`.
    public var accountMMRate: Rate?
    /// `coin`: per-coin balances in document order.
    public var coins: [BybitWallet.Coin]
    /// Values Bybit sent that could not be read (they are `nil`), coins' included as `coin.USDT.equity`.
    public var unreadFields: [String] = []

    /// A value as given.
    public init(accountType: String = "UNIFIED", totalEquity: USDT? = nil, totalWalletBalance: USDT? = nil, totalMarginBalance: USDT? = nil, totalAvailableBalance: USDT? = nil, totalPerpUPL: USDT? = nil, totalInitialMargin: USDT? = nil, totalMaintenanceMargin: USDT? = nil, accountIMRate: Rate? = nil, accountMMRate: Rate? = nil, coins: [BybitWallet.Coin] = []) {
        self.accountType = accountType
        self.totalEquity = totalEquity
        self.totalWalletBalance = totalWalletBalance
        self.totalMarginBalance = totalMarginBalance
        self.totalAvailableBalance = totalAvailableBalance
        self.totalPerpUPL = totalPerpUPL
        self.totalInitialMargin = totalInitialMargin
        self.totalMaintenanceMargin = totalMaintenanceMargin
        self.accountIMRate = accountIMRate
        self.accountMMRate = accountMMRate
        self.coins = coins
    }

    /// The entry of `coin` (e.g. `"USDT"`), if listed.
    public func coin(_ name: String) -> BybitWallet.Coin? { coins.first { $0.coin == name } }

    /// The USDT entry, the settle coin of linear perpetuals.
    public var usdt: BybitWallet.Coin? { coin("USDT") }

    enum CodingKeys: String, CodingKey {
        case accountType, totalEquity, totalWalletBalance, totalMarginBalance, totalAvailableBalance, totalPerpUPL
        case totalInitialMargin, totalMaintenanceMargin, accountIMRate, accountMMRate, coin
    }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Every total is informational (client review row 4: Bybit prints some with more than 8 decimals).
        let f = c.fields.informational
        accountType = try c.text(.accountType) ?? ""
        totalEquity = try f.usdt(c.text(.totalEquity), "totalEquity")
        totalWalletBalance = try f.usdt(c.text(.totalWalletBalance), "totalWalletBalance")
        totalMarginBalance = try f.usdt(c.text(.totalMarginBalance), "totalMarginBalance")
        totalAvailableBalance = try f.usdt(c.text(.totalAvailableBalance), "totalAvailableBalance")
        totalPerpUPL = try f.usdt(c.text(.totalPerpUPL), "totalPerpUPL")
        totalInitialMargin = try f.usdt(c.text(.totalInitialMargin), "totalInitialMargin")
        totalMaintenanceMargin = try f.usdt(c.text(.totalMaintenanceMargin), "totalMaintenanceMargin")
        accountIMRate = try f.rate(c.text(.accountIMRate), "accountIMRate")
        accountMMRate = try f.rate(c.text(.accountMMRate), "accountMMRate")
        coins = try c.decodeIfPresent([BybitWallet.Coin].self, forKey: .coin) ?? []
        unreadFields = f.unread.names + coins.flatMap { coin in coin.unreadFields.map { "coin.\(coin.coin).\($0)" } }
    }
}

extension BybitWallet {
    /// One coin of a ``BybitWallet``; amounts are in units of ``coin``.
    public struct Coin: Hashable, Sendable, Decodable {
        /// `coin` (`USDT`, `BTC`, …).
        public var coin: String
        /// `equity`.
        public var equity: BybitCoinAmount?
        /// `usdValue` (USD).
        public var usdValue: USDT?
        /// `walletBalance`.
        public var walletBalance: BybitCoinAmount?
        /// `availableToWithdraw` (deprecated by Bybit; `nil` when sent as `""`).
        public var availableToWithdraw: BybitCoinAmount?
        /// `locked` (spot orders).
        public var locked: BybitCoinAmount?
        /// `unrealisedPnl`.
        public var unrealisedPnl: BybitCoinAmount?
        /// `cumRealisedPnl`.
        public var cumRealisedPnl: BybitCoinAmount?
        /// `totalOrderIM`.
        public var totalOrderIM: BybitCoinAmount?
        /// `totalPositionIM`.
        public var totalPositionIM: BybitCoinAmount?
        /// `totalPositionMM`.
        public var totalPositionMM: BybitCoinAmount?
        /// `borrowAmount`.
        public var borrowAmount: BybitCoinAmount?
        /// `accruedInterest`.
        public var accruedInterest: BybitCoinAmount?
        /// `bonus`.
        public var bonus: BybitCoinAmount?
        /// `marginCollateral`: whether Bybit lets the coin be collateral.
        public var marginCollateral: Bool?
        /// `collateralSwitch`: whether the user enabled it as collateral.
        public var collateralSwitch: Bool?
        /// Amounts Bybit sent that could not be read (they are `nil`).
        public var unreadFields: [String] = []

        /// A value as given.
        public init(coin: String, equity: BybitCoinAmount? = nil, usdValue: USDT? = nil, walletBalance: BybitCoinAmount? = nil, availableToWithdraw: BybitCoinAmount? = nil, locked: BybitCoinAmount? = nil, unrealisedPnl: BybitCoinAmount? = nil, cumRealisedPnl: BybitCoinAmount? = nil, totalOrderIM: BybitCoinAmount? = nil, totalPositionIM: BybitCoinAmount? = nil, totalPositionMM: BybitCoinAmount? = nil, borrowAmount: BybitCoinAmount? = nil, accruedInterest: BybitCoinAmount? = nil, bonus: BybitCoinAmount? = nil, marginCollateral: Bool? = nil, collateralSwitch: Bool? = nil) {
            self.coin = coin
            self.equity = equity
            self.usdValue = usdValue
            self.walletBalance = walletBalance
            self.availableToWithdraw = availableToWithdraw
            self.locked = locked
            self.unrealisedPnl = unrealisedPnl
            self.cumRealisedPnl = cumRealisedPnl
            self.totalOrderIM = totalOrderIM
            self.totalPositionIM = totalPositionIM
            self.totalPositionMM = totalPositionMM
            self.borrowAmount = borrowAmount
            self.accruedInterest = accruedInterest
            self.bonus = bonus
            self.marginCollateral = marginCollateral
            self.collateralSwitch = collateralSwitch
        }

        enum CodingKeys: String, CodingKey {
            case coin, equity, usdValue, walletBalance, availableToWithdraw, locked, unrealisedPnl, cumRealisedPnl
            case totalOrderIM, totalPositionIM, totalPositionMM, borrowAmount, accruedInterest, bonus
            case marginCollateral, collateralSwitch
        }

        /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let f = c.fields.informational
            coin = try f.requiredString(c.text(.coin), "coin")
            equity = try f.coinAmount(c.text(.equity), "equity")
            usdValue = try f.usdt(c.text(.usdValue), "usdValue")
            walletBalance = try f.coinAmount(c.text(.walletBalance), "walletBalance")
            availableToWithdraw = try f.coinAmount(c.text(.availableToWithdraw), "availableToWithdraw")
            locked = try f.coinAmount(c.text(.locked), "locked")
            unrealisedPnl = try f.coinAmount(c.text(.unrealisedPnl), "unrealisedPnl")
            cumRealisedPnl = try f.coinAmount(c.text(.cumRealisedPnl), "cumRealisedPnl")
            totalOrderIM = try f.coinAmount(c.text(.totalOrderIM), "totalOrderIM")
            totalPositionIM = try f.coinAmount(c.text(.totalPositionIM), "totalPositionIM")
            totalPositionMM = try f.coinAmount(c.text(.totalPositionMM), "totalPositionMM")
            borrowAmount = try f.coinAmount(c.text(.borrowAmount), "borrowAmount")
            accruedInterest = try f.coinAmount(c.text(.accruedInterest), "accruedInterest")
            bonus = try f.coinAmount(c.text(.bonus), "bonus")
            marginCollateral = try c.decodeIfPresent(Bool.self, forKey: .marginCollateral)
            collateralSwitch = try c.decodeIfPresent(Bool.self, forKey: .collateralSwitch)
            unreadFields = f.unread.names
        }
    }
}
