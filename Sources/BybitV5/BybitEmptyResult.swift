/// `result` of endpoints that return nothing (`{}`): set-leverage, switch-mode, trading-stop, DCP.
/// Accepts any JSON value, because nothing in it is used.
public struct BybitEmptyResult: Hashable, Sendable, Decodable {
    /// The empty result.
    public init() {}
    /// Accepts any JSON value and ignores it.
    public init(from decoder: any Decoder) throws {}
}
