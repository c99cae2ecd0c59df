// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "berthd", targets: ["berthd"]),
        .executable(name: "berth", targets: ["berth"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
    ],
    targets: [
        // Image-spec vocabulary shared by every layer: platforms (and later references, digests).
        .target(name: "OCI"),

        // libvirt's C API, linked from Debian's libvirt-dev.
        .systemLibrary(
            name: "CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),

        // Small POSIX helpers every layer needs: crash-safe file writes, errno errors.
        .target(name: "SystemSupport"),

        // What the host can run, as plain values: shared by the prober, the daemon and clients.
        .target(name: "HostModel", dependencies: ["OCI"]),

        // Reads the host: kernel, cgroups, overlayfs, seccomp, binfmt, QEMU, libvirt, accelerator.
        .target(
            name: "HostProbe",
            dependencies: [
                "OCI", "HostModel", "CLibvirt", "SystemSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The Docker Engine API's wire types, shared by the server and clients.
        .target(name: "APIModels", dependencies: ["HostModel"]),

        // Daemon state (SQLite), the event bus and, later, container and image lifecycles.
        .target(
            name: "Engine",
            dependencies: [
                "HostModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The Docker-compatible HTTP API served on a unix socket.
        .target(
            name: "API",
            dependencies: [
                "APIModels", "Engine", "HostModel", "SystemSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // An HTTP client of berthd's API, used by the CLI.
        .target(
            name: "APIClient",
            dependencies: [
                "APIModels",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        .executableTarget(
            name: "berthd",
            dependencies: [
                "API", "APIModels", "Engine", "HostProbe", "SystemSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "berth",
            dependencies: [
                "APIClient", "APIModels", "HostModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        .testTarget(
            name: "HostProbeTests",
            dependencies: ["HostProbe", "HostModel", "OCI", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "EngineTests", dependencies: ["Engine"]),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API", "APIModels",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "APIClientTests", dependencies: ["APIClient"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["APIModels", "HostModel"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
