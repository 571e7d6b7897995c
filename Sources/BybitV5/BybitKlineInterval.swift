/// `interval` of `GET /v5/market/kline`.
public enum BybitKlineInterval: String, Hashable, Sendable, CaseIterable {
    /// `1`.
    case oneMinute = "1"
    /// `3`.
    case threeMinutes = "3"
    /// `5`.
    case fiveMinutes = "5"
    /// `15`.
    case fifteenMinutes = "15"
    /// `30`.
    case thirtyMinutes = "30"
    /// `60`.
    case oneHour = "60"
    /// `120`.
    case twoHours = "120"
    /// `240`.
    case fourHours = "240"
    /// `360`.
    case sixHours = "360"
    /// `720`.
    case twelveHours = "720"
    /// `D`.
    case day = "D"
    /// `W`.
    case week = "W"
    /// `M`.
    case month = "M"
}
