// swift-tools-version:6.2
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
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
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
        // Wire types and rules, no I/O.
        .target(name: "Contracts"),
        .target(name: "FleetConcurrency"),
        .target(name: "Settings", dependencies: ["Contracts", .product(name: "Yams", package: "Yams")]),

        // C libraries.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CEventPoll"),

        // Clients, as services, on the shared blocking-call executor.
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis", "Contracts", "FleetConcurrency", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "PostgresClient",
            dependencies: [
                "CLibPQ", "Contracts", "FleetConcurrency", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(name: "OutboundHTTP", dependencies: ["CCurl", "FleetConcurrency"]),

        // Engines.
        .target(
            name: "JobQueue",
            dependencies: ["Contracts", "RedisClient", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "AuditLog",
            dependencies: [
                "Contracts", "PostgresClient", "FleetConcurrency",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "Policy",
            dependencies: [
                "Contracts", "AuditLog", "FleetConcurrency", "PostgresClient", "RedisClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "Admission",
            dependencies: [
                "Contracts", "AuditLog", "FleetConcurrency", "JobQueue", "Policy", "PostgresClient", "RedisClient",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "WorkerRuntime",
            dependencies: [
                "Contracts", "AuditLog", "FleetConcurrency", "JobQueue", "OutboundHTTP", "Policy", "PostgresClient", "RedisClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(name: "Classifier", dependencies: ["Contracts"]),
        .target(name: "TaskIntelligence", dependencies: ["Contracts"]),
        .target(
            name: "Connectors",
            dependencies: [
                "Contracts", "OutboundHTTP", "PostgresClient", "Settings", .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // Executables.
        .executableTarget(
            name: "Workers",
            dependencies: [
                "Admission", "AuditLog", "Classifier", "Settings", "Connectors", "Contracts", "JobQueue", "OutboundHTTP", "Policy",
                "PostgresClient", "RedisClient", "TaskIntelligence", "WorkerRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .executableTarget(
            name: "Dispatcher",
            dependencies: [
                "Admission", "AuditLog", "Connectors", "Settings", "Contracts", "FleetConcurrency", "JobQueue", "OutboundHTTP", "Policy",
                "PostgresClient", "RedisClient", "TaskIntelligence",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("HTTP/openapi.json")]),
        .executableTarget(
            name: "FakeProviders",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .executableTarget(
            name: "Bench",
            dependencies: [
                "Classifier", "Contracts", "JobQueue", "RedisClient", "AuditLog", "PostgresClient", "CEventPoll", "Connectors",
                "OutboundHTTP",
                "Policy", "Settings", "TaskIntelligence",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Tests: one target per source target; TestSupport has the fakes and the servers.
        .target(
            name: "TestSupport",
            dependencies: [
                "Contracts", "AuditLog", "FleetConcurrency", "OutboundHTTP", "Policy", "PostgresClient", "RedisClient", "WorkerRuntime",
                .product(name: "Logging", package: "swift-log"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TestSupport"),
        .testTarget(name: "ContractsTests", dependencies: ["Contracts"]),
        .testTarget(name: "ClassifierTests", dependencies: ["Classifier", "Contracts"]),
        .testTarget(name: "TaskIntelligenceTests", dependencies: ["TaskIntelligence", "Contracts"]),
        .testTarget(name: "SettingsTests", dependencies: ["Settings", "Contracts"]),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "TestSupport"]),
        .testTarget(name: "JobQueueTests", dependencies: ["JobQueue", "TestSupport"]),
        .testTarget(name: "WorkerRuntimeTests", dependencies: ["WorkerRuntime", "TestSupport"]),
        .testTarget(name: "FleetConcurrencyTests", dependencies: ["FleetConcurrency"]),
        .testTarget(
            name: "PolicyTests",
            dependencies: [
                "Policy", "TestSupport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        .testTarget(
            name: "OutboundHTTPTests",
            dependencies: [
                "OutboundHTTP", "TestSupport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(name: "ConnectorsTests", dependencies: ["Connectors", "Contracts", "OutboundHTTP", "Settings", "TestSupport"]),
        .testTarget(
            name: "DispatcherTests",
            dependencies: [
                "Dispatcher", "Admission", "AuditLog", "Connectors", "Contracts", "FakeProviders", "JobQueue", "OutboundHTTP", "Policy",
                "PostgresClient", "RedisClient", "Settings", "TaskIntelligence", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "TestSupport"]),
        .testTarget(
            name: "FakeProvidersTests",
            dependencies: [
                "FakeProviders", "OutboundHTTP", "TestSupport", .product(name: "Hummingbird", package: "hummingbird"),
            ]),
        .testTarget(name: "AuditLogTests", dependencies: ["AuditLog", "TestSupport"]),
        .testTarget(
            name: "WorkersTests",
            dependencies: [
                "Workers", "JobQueue", "AuditLog", "Classifier", "TestSupport", "WorkerRuntime", "Connectors", "Contracts", "FakeProviders",
                "OutboundHTTP", "Policy", "PostgresClient", "RedisClient", "Settings", "TaskIntelligence",
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),
    ]
)

// Swift 6 language mode everywhere; a warning is an error in our own targets.
for target in package.targets where target.type != .system && target.name != "CEventPoll" {
    target.swiftSettings = (target.swiftSettings ?? []) + [.treatAllWarnings(as: .error)]
}
