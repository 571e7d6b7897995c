/// `triggerDirection` of a conditional order (an integer on the wire; `0` means "not conditional").
public enum BybitTriggerDirection: Int, Hashable, Sendable, CaseIterable {
    /// `1`: triggers when the price rises to `triggerPrice`.
    case rise = 1
    /// `2`: triggers when the price falls to `triggerPrice`.
    case fall = 2
}
