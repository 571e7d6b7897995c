/// Where the frames of an imported recording came from: written into every ``FrameManifest`` of
/// an import, absent (nil) for recordings made live or imported from frames-format lines.
///
/// A recording converted from another vendor's files is not what Bybit sent: the manifest says so,
/// names the files it was built from (with their SHA-256, so the inputs can be checked later) and
/// lists the fields the converter had to synthesise because the source did not carry them.
public struct FrameProvenance: Codable, Sendable, Hashable {
    /// One input file of the conversion.
    public struct Input: Codable, Sendable, Hashable {
        /// What the file held, e.g. `incremental_book_L2`, `trades`, `liquidations`, `derivative_ticker`,
        /// `instruments`.
        public var role: String
        /// The file's name as given (no directory).
        public var file: String
        /// Lower-case hex SHA-256 of the file's bytes as read (compressed bytes for a gzip file).
        public var sha256: String
        /// Size of the file in bytes.
        public var bytes: Int64

        /// Creates an input entry.
        public init(role: String, file: String, sha256: String, bytes: Int64) {
            self.role = role
            self.file = file
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    /// The data vendor or format converted from, e.g. `tardis`.
    public var source: String
    /// The vendor's exchange id, e.g. `bybit`.
    public var exchange: String?
    /// Symbols imported.
    public var symbols: [String]
    /// The program that converted, e.g. `cascade import --from tardis`.
    public var converter: String
    /// Version of the conversion rules; bumped whenever the same inputs would give different frames.
    public var converterVersion: String
    /// The files converted, in the order given.
    public var inputs: [Input]
    /// Per topic, the frame fields the converter synthesised (the source had no value for them),
    /// e.g. `["orderbook.50.BTCUSDT": ["u"]]`. Every other field comes from the inputs.
    public var syntheticFields: [String: [String]]
    /// What a reader of the frames should know about where they came from that their topics do not say, e.g.
    /// that liquidations before 2025-02-26 are Bybit's throttled sample. Nil (absent from the JSON) when there is
    /// nothing to say, so manifests written before this field existed still decode.
    public var notes: [String]?

    /// Creates a provenance record.
    public init(source: String, exchange: String?, symbols: [String], converter: String, converterVersion: String,
                inputs: [Input], syntheticFields: [String: [String]], notes: [String]? = nil) {
        self.source = source
        self.exchange = exchange
        self.symbols = symbols
        self.converter = converter
        self.converterVersion = converterVersion
        self.inputs = inputs
        self.syntheticFields = syntheticFields
        self.notes = notes
    }
}
