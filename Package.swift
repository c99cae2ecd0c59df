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
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.31.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.3.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.1.0"),
    ],
    targets: [
        // Image-spec vocabulary shared by every layer: platforms, references, digests.
        .target(name: "OCI", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // Linux headers Swift's Glibc module lacks (xattrs, statfs).
        .target(name: "CLinux"),

        // libvirt's C API, linked from Debian's libvirt-dev.
        .systemLibrary(
            name: "CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),

        // libseccomp (Debian libseccomp-dev): compiles the default system-call policy to BPF.
        .systemLibrary(
            name: "CSeccomp",
            pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]
        ),

        // Small POSIX helpers every layer needs: crash-safe file writes, errno errors.
        .target(name: "SystemSupport"),

        // libarchive (Debian libarchive-dev): tar reading and writing, gzip/zstd, secure extraction.
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),

        // zlib (Debian zlib1g-dev): SPDY's header blocks are deflated against a shared dictionary.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // SPDY/3.1 framing and sessions, the transport of the CRI's exec, attach and port-forward streams.
        .target(
            name: "SPDY",
            dependencies: [
                "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // Content-addressed blobs, image metadata, layer snapshots keyed by chain ID, safe unpack.
        .target(
            name: "ImageStore",
            dependencies: [
                "OCI", "CArchive", "CLinux", "SystemSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),

        // OCI distribution API client: manifests, blobs, auth, retries.
        .target(
            name: "Registry",
            dependencies: [
                "APIModels", "OCI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // The native runtime's daemon side: launch specs for berth-shim, cgroups, capabilities,
        // seccomp, image users, and the shim's control protocol.
        .target(
            name: "NativeRuntime",
            dependencies: [
                "CLinux", "CSeccomp", "SystemSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // libnl's route API (Debian libnl-route-3-dev): links, addresses and routes over netlink.
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-route-3-dev"])]
        ),

        // Container networking on the host: addresses and subnets, network namespaces, bridges and
        // veths (netlink), iptables rules, and the name server of user-defined networks.
        .target(
            name: "Networking",
            dependencies: [
                "CLinux", "CNetlink", "SystemSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // Image builds from Dockerfiles: the parser and Docker's word and variable processing.
        .target(name: "ImageBuild", dependencies: ["OCI", .product(name: "Crypto", package: "swift-crypto")]),

        // Utility VMs: libvirt domains, guest kernels and disks, and the agent's frame codec (compiled into the agent too).
        .target(name: "VMRuntime", dependencies: ["CLibvirt", "CLinux", "SystemSupport", .product(name: "Crypto", package: "swift-crypto")]),

        // What the host can run, as plain values: shared by the prober, the daemon and clients.
        .target(name: "HostModel", dependencies: ["OCI"]),

        // Reads the host: kernel, cgroups, overlayfs, seccomp, binfmt, QEMU, libvirt, accelerator.
        .target(
            name: "HostProbe",
            dependencies: [
                "OCI", "HostModel", "CLibvirt", "SystemSupport", "VMRuntime",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The Docker Engine API's wire types, shared by the server and clients.
        .target(name: "APIModels", dependencies: ["HostModel"]),

        // Daemon state (SQLite), the event bus, and the lifecycles of containers, images, builds and volumes.
        .target(
            name: "Engine",
            dependencies: [
                "APIModels", "HostModel", "ImageBuild", "ImageStore", "NativeRuntime", "Networking", "OCI", "Registry",
                "SystemSupport", "VMRuntime",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // berthd's settings: its flags and dockerd's daemon.json format, checked and merged.
        .target(
            name: "DaemonConfiguration",
            dependencies: [
                "APIModels", "Engine", "Networking", "Registry",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The Docker-compatible HTTP API served on a unix socket, or on TCP with TLS (swift-nio-ssl,
        // which async-http-client builds already).
        .target(
            name: "API",
            dependencies: [
                "APIModels", "Engine", "HostModel", "OCI",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // An HTTP client of berthd's API, used by the CLI (TLS for a remote berthd: swift-nio-ssl).
        .target(
            name: "APIClient",
            dependencies: [
                "APIModels", "SystemSupport",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // The Kubernetes CRI's runtime.v1 messages, services and clients, generated from
        // runtime-v1.proto by scripts/generate-cri (committed; builds need no protoc).
        .target(
            name: "CRIProtocol",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["runtime-v1.proto"]
        ),

        // berthd as a Kubernetes node runtime: the CRI's RuntimeService and ImageService over gRPC on
        // a unix socket, mapped onto the engine's containers, pods and images.
        .target(
            name: "CRI",
            dependencies: [
                "APIModels", "CRIProtocol", "Engine", "HostModel", "ImageStore", "OCI", "SPDY", "SystemSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // A CRI client over a unix socket: `berth cri` and the tests speak to berthd's CRI with it.
        .target(
            name: "CRIClient",
            dependencies: [
                "CRIProtocol", "SPDY",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ]
        ),

        .executableTarget(
            name: "berthd",
            dependencies: [
                "API", "APIModels", "CRI", "DaemonConfiguration", "Engine", "HostProbe", "ImageStore", "NativeRuntime", "Networking", "Registry",
                "SystemSupport", "VMRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "berth",
            dependencies: [
                "APIClient", "APIModels", "CRIClient", "CRIProtocol", "HostModel", "OCI", "SystemSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        // The module boundaries, read from the sources' imports.
        .testTarget(name: "ArchitectureTests"),
        .testTarget(name: "VMRuntimeTests", dependencies: ["VMRuntime"]),
        .testTarget(
            name: "HostProbeTests",
            dependencies: ["HostProbe", "HostModel", "OCI", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: ["Engine", "APIModels", "ImageStore", "NativeRuntime", "OCI", "Registry", "SystemSupport",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "NativeRuntimeTests", dependencies: ["NativeRuntime"]),
        .testTarget(name: "NetworkingTests", dependencies: ["Networking"]),
        .testTarget(name: "ImageBuildTests", dependencies: ["ImageBuild", "OCI"]),
        .testTarget(
            name: "ImageStoreTests",
            dependencies: ["ImageStore", "OCI", "CLinux", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "OCI"]),
        .testTarget(name: "DaemonConfigurationTests", dependencies: ["DaemonConfiguration", "APIModels", "Engine"]),
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
            name: "SPDYTests",
            dependencies: [
                "SPDY", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "APIModels", "CRIClient", "CRIProtocol", "HostModel", "NativeRuntime", "VMRuntime",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)

// The fuzzers that drive whole modules (fuzz/run builds them with libFuzzer and AddressSanitizer
// when BERTH_FUZZ is set, in their own build directory); an ordinary build never sees them.
if Context.environment["BERTH_FUZZ"] != nil {
    package.targets += [
        // libFuzzer's entry, for fuzzers that are SwiftPM executables.
        .target(name: "FuzzDriver", path: "fuzz/driver"),
        .executableTarget(
            name: "FuzzHTTPRouter",
            dependencies: [
                "API", "APIModels", "FuzzDriver", "OCI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "fuzz/targets/http-router"
        ),
        .executableTarget(
            name: "FuzzLayerUnpacker", dependencies: ["FuzzDriver", "ImageStore", "OCI", "SystemSupport"], path: "fuzz/targets/layer-unpacker"),
        .executableTarget(
            name: "FuzzRegistryManifest", dependencies: ["FuzzDriver", "OCI", "Registry"], path: "fuzz/targets/registry-manifest"),
    ]
}
