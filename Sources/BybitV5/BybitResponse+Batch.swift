extension BybitResponse where Result == BybitBatchOrderResult {
    /// Pairs `result.list[i]` with `retExtInfo.list[i]` and classifies each item's code.
    /// - Throws: ``BybitDecodeError/countMismatch(field:expected:got:)`` when the two lists differ in length.
    public func outcomes(for operation: BybitOperation = .create) throws(BybitDecodeError) -> [BybitBatchOutcome] {
        let items = result?.list ?? []
        let statuses = retExtInfo.list
        guard items.count == statuses.count else {
            throw .countMismatch(field: "retExtInfo.list", expected: items.count, got: statuses.count)
        }
        return zip(items, statuses).map { item, status in
            BybitBatchOutcome(item: item, retCode: status.code, retMsg: status.msg,
                              meaning: status.code.meaning(for: operation, message: status.msg))
        }
    }
}
