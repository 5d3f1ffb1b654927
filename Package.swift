// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "openclaw-fleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "Dispatcher", targets: ["Dispatcher"]),
        .executable(name: "Workers", targets: ["Workers"]),
        .executable(name: "Bench", targets: ["Bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .target(name: "Contracts"),
        .target(name: "FleetConcurrency"),
        .systemLibrary(
            name: "CHiredis", pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .target(name: "CEventPoll"),
        .target(
            name: "RedisClient",
            dependencies: ["CHiredis", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "JobQueue",
            dependencies: [
                "Contracts", "RedisClient",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "PostgresClient",
            dependencies: ["CLibPQ", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "AuditLog",
            dependencies: [
                "Contracts", "PostgresClient", "FleetConcurrency",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "PolicyClient",
            dependencies: [
                "Contracts",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "WorkerRuntime",
            dependencies: [
                "Contracts", "JobQueue", "RedisClient", "AuditLog", "FleetConcurrency",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .executableTarget(
            name: "Workers",
            dependencies: [
                "WorkerRuntime", "AuditLog", "PostgresClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "Dispatcher",
            dependencies: [
                "Contracts", "JobQueue", "RedisClient", "AuditLog", "PostgresClient", "PolicyClient", "FleetConcurrency",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "TestSupport",
            dependencies: [
                "Contracts", "RedisClient", "PostgresClient", "AuditLog", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport"),
        .testTarget(name: "ContractsTests", dependencies: ["Contracts"]),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "TestSupport"]),
        .testTarget(name: "JobQueueTests", dependencies: ["JobQueue", "TestSupport"]),
        .testTarget(name: "WorkerRuntimeTests", dependencies: ["WorkerRuntime", "TestSupport"]),
        .testTarget(name: "FleetConcurrencyTests", dependencies: ["FleetConcurrency"]),
        .testTarget(name: "PolicyClientTests", dependencies: ["PolicyClient", "TestSupport"]),
        .testTarget(
            name: "DispatcherTests",
            dependencies: [
                "Dispatcher", "TestSupport", "JobQueue", "AuditLog", "PolicyClient",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "TestSupport"]),
        .testTarget(name: "AuditLogTests", dependencies: ["AuditLog", "TestSupport"]),
        .testTarget(name: "WorkersTests", dependencies: ["Workers", "JobQueue", "AuditLog", "TestSupport"]),
        .executableTarget(
            name: "Bench",
            dependencies: [
                "Contracts", "JobQueue", "RedisClient", "AuditLog", "PostgresClient", "CEventPoll",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
    ]
)
