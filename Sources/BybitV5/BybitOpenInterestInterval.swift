/// `intervalTime` of `GET /v5/market/open-interest`.
public enum BybitOpenInterestInterval: String, Hashable, Sendable, CaseIterable {
    /// `5min`.
    case fiveMinutes = "5min"
    /// `15min`.
    case fifteenMinutes = "15min"
    /// `30min`.
    case thirtyMinutes = "30min"
    /// `1h`.
    case oneHour = "1h"
    /// `4h`.
    case fourHours = "4h"
    /// `1d`.
    case oneDay = "1d"
}
