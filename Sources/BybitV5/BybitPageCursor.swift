/// Just the `nextPageCursor` of a paged `result`, for endpoints whose items are decoded elsewhere
/// (instruments-info pages go through ``BybitInstrumentsInfo`` but still need the cursor to continue).
public struct BybitPageCursor: Hashable, Sendable, Decodable {
    /// `nextPageCursor`; `nil` when absent, `""` on the last page.
    public var nextPageCursor: String?

    /// True when another page follows.
    public var hasMore: Bool { !(nextPageCursor ?? "").isEmpty }
}
