public import CascadeCore
import Foundation

/// Why saved engine state was refused.
public enum FeatureStateError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    /// Saved by another schema: its features would not mean the same thing.
    case schemaMismatch(saved: String, current: String)
    /// Saved with other parameters (windows, detector rule): its rolling state does not fit this engine.
    case configurationMismatch

    public var description: String {
        switch self {
        case let .unreadable(reason): "feature state unreadable: \(reason)"
        case let .schemaMismatch(saved, current):
            "feature state was saved by schema \(saved.prefix(12)), this engine is \(current.prefix(12)): rebuild it from recordings"
        case .configurationMismatch: "feature state was saved with another configuration: rebuild it from recordings"
        }
    }
}

extension FeatureEngine {
    struct SavedState: Codable {
        var format = "cascade-feature-state-v1"
        var schemaVersion: Int
        var schemaHash: String
        var configuration: FeatureConfiguration
        var now: Int64
        var symbols: [SymbolFeatures]
        var detectors: [CascadeDetector]
    }

    /// The rolling state (windows, baselines, detectors; symbols by name) as JSON, tagged with the schema. Detector
    /// changes not yet drained are not part of it: drain them first.
    public func savedState() throws -> [UInt8] {
        if hasDeferredWork { return try completed.savedState() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let state = SavedState(schemaVersion: schema.version, schemaHash: schema.hash, configuration: configuration,
                               now: now, symbols: symbols, detectors: detectors)
        return Array(try encoder.encode(state))
    }

    /// An engine continuing from saved state; refuses state of another schema or configuration.
    ///
    /// `instruments`: the table the inputs' ids will come from (or an earlier state of it). Each saved symbol the table
    /// knows gets its slot now, as a running engine's symbols have theirs: a session boundary or a lost frame then
    /// reaches it before its next frame (as on the run that saved the state), and that frame's lookup is the array
    /// read, not a search by name. A symbol the table does not know yet gets its slot at the first input whose table
    /// does (``resolveSymbols(in:)``). Refuses a state that names a symbol twice.
    public init(restoring bytes: [UInt8], configuration: FeatureConfiguration,
                instruments: InstrumentTable = InstrumentTable()) throws(FeatureStateError) {
        self.init(configuration: configuration)
        let state: SavedState
        do { state = try JSONDecoder().decode(SavedState.self, from: Data(bytes)) } catch {
            throw .unreadable("\(error)")
        }
        guard state.schemaHash == schema.hash else { throw .schemaMismatch(saved: state.schemaHash, current: schema.hash) }
        guard state.configuration == configuration else { throw .configurationMismatch }
        guard Set(state.symbols.map(\.name)).count == state.symbols.count else { throw .unreadable("a symbol is saved twice") }
        restore(now: state.now, symbols: state.symbols, detectors: state.detectors, instruments: instruments)
    }
}
