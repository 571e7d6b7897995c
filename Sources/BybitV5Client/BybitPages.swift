/// Bybit's cursor paging (`nextPageCursor`, empty or absent on the last page, passed back verbatim).
public enum BybitPages {
    /// Calls `page` with each cursor it returns (nil first) until one is empty.
    public static func walk(isolation: isolated (any Actor)? = #isolation, _ page: (String?) async throws -> String?) async throws {
        var cursor: String?
        repeat {
            cursor = try await page(cursor).flatMap { $0.isEmpty ? nil : $0 }
        } while cursor != nil
    }
}
