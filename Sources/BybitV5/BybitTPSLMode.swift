/// `tpslMode`: TP/SL for the whole position (`Full`, market exits only) or a part of it (`Partial`).
public enum BybitTPSLMode: String, Hashable, Sendable, CaseIterable {
    /// `Full`: the whole position, market exits.
    case full = "Full"
    /// `Partial`: a given size, limit exits allowed.
    case partial = "Partial"
}
