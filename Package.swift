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
    ],
    targets: [
        // Domain values: exact decimals, instruments, clocks, market events. Stdlib only.
        .target(name: "CascadeCore", swiftSettings: swiftSettings),
        // Bybit V5 wire protocol without I/O: byte scanner for public frames, instrument snapshots.
        .target(name: "BybitV5", dependencies: ["CascadeCore"], swiftSettings: swiftSettings),
        // Order books and ticker state on integer prices.
        .target(name: "MarketData", dependencies: ["CascadeCore"], swiftSettings: swiftSettings),
        // zlib, linked directly: the recorder needs gzip member boundaries (one member per flush).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Lossless frame files: gzip writer/reader, rotating recorder with manifests, k-way replayer.
        .target(
            name: "Recording",
            dependencies: ["CascadeCore", "CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // What `cascade replay` reports about a recording: decode + book + counters.
        .target(
            name: "RecordingAudit",
            dependencies: ["CascadeCore", "BybitV5", "MarketData"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "CascadeCLI",
            dependencies: [
                "CascadeCore", "BybitV5", "MarketData", "Recording", "RecordingAudit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),
        // Test support: seeded synthetic frame generators, fixture and shared-data locators.
        .target(
            name: "CascadeTesting",
            dependencies: ["CascadeCore", "BybitV5", "MarketData"],
            swiftSettings: swiftSettings),
        .testTarget(name: "CascadeCoreTests", dependencies: ["CascadeCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BybitV5Tests", dependencies: ["BybitV5", "CascadeTesting"],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "MarketDataTests", dependencies: ["MarketData", "BybitV5", "Recording", "CascadeTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "RecordingAuditTests", dependencies: ["RecordingAudit", "CascadeTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RecordingTests", dependencies: ["Recording", "CascadeTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CascadeCLITests",
            dependencies: ["RecordingAudit", "Recording", "CascadeTesting", "CascadeCLI"],
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
}
