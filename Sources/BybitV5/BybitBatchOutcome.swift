/// One item of a batch request with its own retCode, classified.
public struct BybitBatchOutcome: Hashable, Sendable {
    /// The item's entry of `result.list`.
    public var item: BybitBatchOrderResult.Item
    /// The item's `retExtInfo.list[i].code`.
    public var retCode: BybitRetCode
    /// The item's `retExtInfo.list[i].msg`.
    public var retMsg: String
    /// ``retCode`` classified for the batch's operation.
    public var meaning: BybitRetCode.Meaning
}
