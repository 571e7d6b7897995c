// swift-tools-version: 6.1
// The package reads like the module map in README.md: one target per layer, arrows point upstream only.
import PackageDescription
import class Foundation.ProcessInfo

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

var package = Package(
    name: "cascade",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cascade", targets: ["CascadeCLI"]),
        .library(name: "CascadeCore", targets: ["CascadeCore"]),
        .library(name: "BybitV5", targets: ["BybitV5"]),
        .library(name: "MarketData", targets: ["MarketData"]),
        .library(name: "Recording", targets: ["Recording"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: [
        // Domain values: exact decimals, instruments, clocks, market events. Stdlib only.
        .target(name: "CascadeCore", swiftSettings: swiftSettings),
        // Bybit V5 wire protocol without I/O: byte scanner for public frames, instrument snapshots,
        // request signing, retCodes, REST envelopes and private-stream payloads.
        .target(
            name: "BybitV5",
            dependencies: ["CascadeCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // Sockets: public/private WebSocket clients (reconnect forever, resubscribe, liveness), signed REST.
        .target(
            name: "BybitV5Client",
            dependencies: [
                "CascadeCore", "BybitV5",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        // The Bybit-compatible simulator server (public half: replayed frames over WS + market REST).
        .target(
            name: "BybitSimulator",
            dependencies: [
                "CascadeCore", "BybitV5", "MarketData", "Recording", "Simulation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // Long-running services (recorder) wired under swift-service-lifecycle.
        .target(
            name: "CascadeService",
            dependencies: [
                "CascadeCore", "BybitV5", "BybitV5Client", "MarketData", "Recording", "Backtest", "Execution", "Storage",
                "BybitGateway", "FeatureReplay", "Features",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // The live venue: engine commands → signed REST; the private stream → execution reports.
        .target(
            name: "BybitGateway",
            dependencies: [
                "CascadeCore", "BybitV5", "BybitV5Client", "Execution",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // Order books and ticker state on integer prices.
        .target(name: "MarketData", dependencies: ["CascadeCore"], swiftSettings: swiftSettings),
        // Streaming features over FeedState and the cascade detector: one code path for backtest, paper and live.
        // The detector sits here, not in Strategy, because its episode state is itself a feature.
        .target(
            name: "Features",
            dependencies: ["CascadeCore", "MarketData", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // Recordings → decoder → FeedState → features and detector: what `cascade features`/`detect`, the leakage
        // check and the benchmark run.
        .target(
            name: "FeatureReplay",
            dependencies: ["CascadeCore", "BybitV5", "MarketData", "Recording", "Features"],
            swiftSettings: swiftSettings),
        // The ladder, its protection and the arm scorer protocol (rule-based today; models plug in here).
        .target(name: "Strategy", dependencies: ["CascadeCore"], swiftSettings: swiftSettings),
        // The sans-IO trading engine: inputs and the time in, journal entries and venue commands out (backtest, paper and
        // live run it unchanged); order tracking, portfolio, risk, the journal protocol and its in-memory form.
        .target(name: "Execution", dependencies: ["CascadeCore", "MarketData", "Features", "Strategy"], swiftSettings: swiftSettings),
        // Queue-aware matching engine (pure, deterministic): used by labels, backtests, paper and the simulator.
        .target(name: "Simulation", dependencies: ["CascadeCore", "MarketData"], swiftSettings: swiftSettings),
        // Durable state: the SQLite order journal (GRDB; WAL, synchronous=FULL) that owns the execution cursor.
        .target(
            name: "Storage",
            dependencies: ["CascadeCore", "Execution", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings),
        // The event-time backtest: recordings → FeedState → features/detector → TradingEngine ⇄ SimulatedExchange in process.
        .target(
            name: "Backtest",
            dependencies: ["CascadeCore", "BybitV5", "MarketData", "Recording", "Features", "FeatureReplay", "Simulation", "Execution",
                           .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // zlib, linked directly: the recorder needs gzip member boundaries (one member per flush).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Lossless frame files: gzip writer/reader, rotating recorder with manifests, k-way replayer.
        .target(
            name: "Recording",
            dependencies: ["CascadeCore", "CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // Vendor files → frames-format recordings in Bybit V5 shapes (`cascade import --from tardis`).
        .target(
            name: "Importers",
            dependencies: ["CascadeCore", "BybitV5", "Recording", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // What `cascade replay` reports about a recording: decode + book + counters.
        .target(
            name: "RecordingAudit",
            dependencies: ["CascadeCore", "BybitV5", "MarketData"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "CascadeCLI",
            dependencies: [
                "CascadeCore", "BybitV5", "MarketData", "Recording", "RecordingAudit", "Importers",
                "BybitV5Client", "BybitSimulator", "CascadeService", "BybitGateway", "Simulation", "Features", "FeatureReplay",
                "Execution", "Backtest", "Storage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // Test support: market builders through the production initialisers, seeded synthetic frame generators,
        // shared-data locators, and `cascade sim` on a loopback port for the simulator and client tests.
        .target(
            name: "CascadeTesting",
            dependencies: [
                "CascadeCore", "BybitV5", "MarketData", "Recording", "Simulation", "BybitSimulator", "BybitV5Client",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "CascadeCoreTests", dependencies: ["CascadeCore"], swiftSettings: swiftSettings),
        // A separate process the cursor's kill -9 test runs and kills (tests only; not a product).
        .executableTarget(
            name: "CursorProbe",
            dependencies: ["BybitV5", "BybitV5Client", .product(name: "Logging", package: "swift-log")],
            path: "Tests/CursorProbe", swiftSettings: swiftSettings),
        .testTarget(
            name: "BybitV5Tests",
            dependencies: ["BybitV5", "CascadeTesting", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "MarketDataTests", dependencies: ["MarketData", "BybitV5", "Recording", "CascadeTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "BybitV5ClientTests",
            dependencies: [
                "BybitV5Client", "BybitSimulator", "CascadeTesting", "Recording", "Simulation", "MarketData", "CursorProbe",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "BybitGatewayTests",
            dependencies: ["BybitGateway", "BybitSimulator", "BybitV5", "BybitV5Client", "CascadeCore", "CascadeTesting", "Execution",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CascadeServiceTests",
            dependencies: ["CascadeService", "Backtest", "BybitGateway", "BybitSimulator", "BybitV5", "BybitV5Client", "CascadeCore",
                           "CascadeTesting", "Execution", "Recording", "Storage", .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SimulationTests", dependencies: ["Simulation", "CascadeTesting", "BybitV5", "Recording", "MarketData"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "BybitSimulatorTests",
            dependencies: [
                "BybitSimulator", "BybitV5", "BybitV5Client", "CascadeTesting", "Simulation", "MarketData", "Recording",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "StrategyTests", dependencies: ["Strategy", "CascadeCore"], swiftSettings: swiftSettings),
        .testTarget(name: "ExecutionTests", dependencies: ["Execution", "CascadeCore", "MarketData", "Features", "Strategy", "CascadeTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BacktestTests",
            dependencies: ["Backtest", "Execution", "Storage", "Simulation", "Features", "MarketData", "CascadeCore", "CascadeTesting", "Recording", "CZlib"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "FeaturesTests",
            dependencies: ["Features", "FeatureReplay", "MarketData", "CascadeTesting", "BybitV5", "Recording"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "RecordingAuditTests", dependencies: ["RecordingAudit", "CascadeTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RecordingTests", dependencies: ["Recording", "CascadeTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ImportersTests",
            dependencies: ["Importers", "BybitV5", "MarketData", "Recording", "RecordingAudit", "CascadeTesting"],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "CascadeCLITests",
            dependencies: ["RecordingAudit", "Recording", "CascadeTesting", "CascadeCLI", "Backtest", "Execution", "Storage", "CascadeCore"],
            swiftSettings: swiftSettings),
    ]
)

// Benchmarks are opt-in so `swift test` never builds ordo-one/benchmark:
//   CASCADE_BENCHMARKS=1 swift package --scratch-path .build-bench benchmark
if ProcessInfo.processInfo.environment["CASCADE_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]))
    // The benchmark reads shared recordings through Recording and CascadeTesting.
    package.targets.append(
        .executableTarget(
            name: "DecodeAndBook",
            dependencies: [
                "CascadeCore", "BybitV5", "MarketData", "Recording", "CascadeTesting",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/DecodeAndBook",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
    package.targets.append(
        .executableTarget(
            name: "Matching",
            dependencies: [
                "CascadeCore", "BybitV5", "MarketData", "Recording", "Simulation", "CascadeTesting",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Matching",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
    // The quoting loop shared by the Quoting benchmark and QuotingProfile (the same loop as a plain executable, for perf).
    package.targets.append(
        .target(
            name: "QuotingSupport",
            dependencies: ["CascadeCore", "BybitV5", "MarketData", "Recording", "Simulation", "CascadeTesting"],
            path: "Benchmarks/QuotingSupport", swiftSettings: swiftSettings))
    package.targets.append(
        .executableTarget(
            name: "QuotingProfile",
            dependencies: ["CascadeTesting", "QuotingSupport"],
            path: "Benchmarks/QuotingProfile", swiftSettings: swiftSettings))
    package.targets.append(
        .executableTarget(
            name: "Quoting",
            dependencies: [
                "CascadeCore", "MarketData", "Simulation", "CascadeTesting", "QuotingSupport",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Quoting",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
    package.targets.append(
        .executableTarget(
            name: "FeatureCost",
            dependencies: [
                "CascadeCore", "BybitV5", "MarketData", "Recording", "Features", "CascadeTesting",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/FeatureCost",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
    // The decision path, shared by its benchmark and its perf harness.
    package.targets.append(
        .target(
            name: "DecisionPathSupport",
            dependencies: ["CascadeCore", "BybitV5", "MarketData", "Features", "FeatureReplay", "Execution", "CascadeTesting"],
            path: "Benchmarks/DecisionPathSupport", swiftSettings: swiftSettings))
    package.targets.append(
        .executableTarget(
            name: "DecisionPath",
            dependencies: [
                "CascadeCore", "Execution", "Storage", "DecisionPathSupport",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/DecisionPath",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
    package.targets.append(
        .executableTarget(
            name: "DecisionProfile",
            dependencies: ["CascadeCore", "BybitV5", "MarketData", "Features", "FeatureReplay", "Execution", "DecisionPathSupport"],
            path: "Benchmarks/DecisionProfile", swiftSettings: swiftSettings))
    package.targets.append(
        .executableTarget(
            name: "PaperMemory",
            dependencies: ["CascadeCore", "CascadeService", "CascadeTesting", "Backtest", "Execution", "Features", "Recording", "Simulation", "Storage",
                           .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/PaperMemory", swiftSettings: swiftSettings))
    package.targets.append(
        .executableTarget(
            name: "SimSlowClients",
            dependencies: [
                "CascadeCore", "BybitSimulator", "BybitV5Client", "Recording", "Simulation", "CascadeTesting",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/SimSlowClients",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}

