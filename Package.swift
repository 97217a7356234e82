// swift-tools-version: 6.2
import PackageDescription

/// Settings every Swift target shares: Swift 6 language mode (strict concurrency) plus the
/// upcoming features the model codebases enable. Feature names are case-sensitive.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
    .enableUpcomingFeature("InferIsolatedConformances"),
]

/// Set by `tools/build-static` only: libzstd linked from its static archive, so that with
/// `--static-swift-stdlib` the binaries need nothing but libc, libm, libstdc++ and libgcc_s.
/// (With pkg-config the linker keeps asking for libzstd.so.) The normal build ignores it.
let staticZstd = Context.environment["DURABLE_STATIC_ZSTD"] == "1"

let package = Package(
    name: "swift-durable",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DurableStorage", targets: ["DurableStorage"]),
        .library(name: "DurableLog", targets: ["DurableLog"]),
        .library(name: "DurableWorkflows", targets: ["DurableWorkflows"]),
        .library(name: "DurableExport", targets: ["DurableExport"]),
        .library(name: "DurablePostgres", targets: ["DurablePostgres"]),
        .library(name: "DurableCLI", targets: ["DurableCLI"]),
        .library(name: "DurableTesting", targets: ["DurableTesting"]),
        .executable(name: "durable", targets: ["durable"]),
        .executable(name: "durable-bench", targets: ["durable-bench"]),
        .executable(name: "durable-demo", targets: ["DurableDemo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            path: staticZstd ? "Sources/CZstd/static" : nil,
            pkgConfig: staticZstd ? nil : "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]
        ),
        .target(name: "CDurableLinux", cSettings: [.define("_GNU_SOURCE")]),
        // The storage protocol and the vocabulary it speaks (statuses, fields, workflow events):
        // what the engine knows of storage. No I/O, no dependencies.
        .target(name: "DurableStorage", swiftSettings: strict),
        .target(
            name: "DurableLog",
            dependencies: ["CZstd", "CDurableLinux", "DurableStorage"],
            swiftSettings: strict,
            linkerSettings: staticZstd ? [.linkedLibrary(":libzstd.a")] : []
        ),
        .target(
            name: "DurableWorkflows",
            dependencies: [
                "DurableStorage", "DurableLog", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // DBOS system-table rows from workflow histories, and a psql-loadable SQL writer (no driver).
        .target(name: "DurableExport", dependencies: ["DurableWorkflows", "DurableLog"], swiftSettings: strict),
        // The storage protocol on a DBOS-compatible PostgreSQL (postgres-nio): only what uses it links it.
        .target(
            name: "DurablePostgres",
            dependencies: [
                "DurableStorage", "DurableLog", "DurableWorkflows", "DurableExport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "DurableCLI",
            dependencies: [
                "DurableWorkflows",
                "DurableLog",
                "DurableExport", "DurablePostgres", "CDurableLinux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "durable", dependencies: ["DurableCLI"], swiftSettings: strict),
        .executableTarget(
            name: "DurableDemo",
            dependencies: [
                "DurableWorkflows", "DurableCLI", "DurablePostgres", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "durable-bench",
            dependencies: [
                "DurableWorkflows", "DurableLog", "DurablePostgres", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Public test support: temporary directories, a manual clock, built-tool lookup.
        .target(name: "DurableTesting", dependencies: ["DurableWorkflows", "CDurableLinux"], swiftSettings: strict),
        // Child process driven by the crash and lock tests (appends in a loop, holds leases).
        .executableTarget(
            name: "DurableTestHelper",
            dependencies: [
                "DurableWorkflows", "DurableLog", "DurableTesting", "DurableCLI", "DurablePostgres",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // libFuzzer targets for the decoders (tools/fuzz); built normally, it replays inputs.
        .executableTarget(
            name: "DurableFuzz",
            dependencies: ["DurableWorkflows", "DurableLog", "DurableExport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DurableLogTests",
            dependencies: [
                "DurableLog", "DurableCLI", "DurableTesting", "DurableTestHelper", "durable", "DurableFuzz",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DurableExportTests",
            dependencies: ["DurableExport", "DurableLog", "DurableTesting", "DurableTestHelper", "durable"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DurablePostgresTests",
            dependencies: ["DurablePostgres", "DurableExport", "DurableTesting", "DurableTestHelper", "durable"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DurableWorkflowsTests",
            dependencies: [
                "DurableWorkflows", "DurableLog", "DurableTesting", "DurableTestHelper", "durable", "DurableDemo",
                "DurablePostgres", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
    ]
)
