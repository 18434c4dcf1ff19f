// swift-tools-version:6.2
import PackageDescription

/// Every module keeps Swift's checks (bounds, overflow, preconditions) in release builds: a server that takes input
/// from the network traps on a broken invariant instead of reading or writing memory it does not own. (`-Ounchecked`
/// bought no measurable speed: the hot loops run on unsafe pointers and explicit vectors.)
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// The numeric kernels are written for AVX2, FMA and F16C (x86-64 since 2013); `whisper-server` checks the CPU at start.
#if arch(x86_64)
let kernelSettings = swiftSettings + [.unsafeFlags(["-target-cpu", "haswell"])]
/// The same kernels in sixteen-lane vectors, called only where the CPU has AVX-512.
let avx512KernelSettings = swiftSettings + [.unsafeFlags(["-target-cpu", "skylake-avx512"])]
/// The 8-bit dot-product kernels, called only where the CPU has AVX512-VNNI (Cascade Lake, Ice Lake, Zen 4 and later).
let vnniKernelSettings = swiftSettings + [.unsafeFlags(["-target-cpu", "cascadelake"])]
#else
let kernelSettings = swiftSettings
let avx512KernelSettings = swiftSettings
let vnniKernelSettings = swiftSettings
#endif

let package = Package(
    name: "WhisperServer",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "whisper-server", targets: ["whisper-server"]),
        .library(name: "WhisperTensor", targets: ["WhisperTensor"]),
        .library(name: "WhisperAudio", targets: ["WhisperAudio"]),
        .library(name: "WhisperEngine", targets: ["WhisperEngine"]),
        .library(name: "WhisperServer", targets: ["WhisperServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CDNNL",
            providers: [.apt(["libdnnl-dev"])]
        ),
        .systemLibrary(name: "CAffinity"),
        .systemLibrary(name: "CPrefetch"),
        .systemLibrary(name: "CVNNI"),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswresample-dev"])]
        ),
        .target(
            name: "WhisperKernels",
            dependencies: ["CPrefetch"],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "WhisperKernelsAVX512",
            dependencies: ["WhisperKernels"],
            swiftSettings: avx512KernelSettings
        ),
        .target(
            name: "WhisperKernelsVNNI",
            dependencies: ["CPrefetch", "CVNNI", "WhisperKernels"],
            swiftSettings: vnniKernelSettings
        ),
        .target(
            name: "WhisperTensor",
            dependencies: [
                "CAffinity", "CBLAS", "CDNNL", "CPrefetch", "WhisperKernels", "WhisperKernelsAVX512", "WhisperKernelsVNNI",
            ],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "WhisperAudio",
            dependencies: ["CFFmpeg"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WhisperEngine",
            dependencies: ["WhisperTensor", "WhisperAudio", "CZlib", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WhisperServer",
            dependencies: [
                "WhisperEngine",
                "WhisperAudio",
                "WhisperTensor",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ],
            resources: [.copy("Resources/openapi.json")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "whisper-server",
            dependencies: [
                "WhisperServer",
                "WhisperEngine",
                "WhisperAudio",
                "WhisperTensor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "WhisperTensorTests", dependencies: ["WhisperTensor", "WhisperKernels", "WhisperKernelsAVX512", "WhisperKernelsVNNI"], swiftSettings: swiftSettings),
        .testTarget(name: "WhisperAudioTests", dependencies: ["WhisperAudio"], swiftSettings: swiftSettings),
        .testTarget(name: "WhisperEngineTests", dependencies: ["WhisperEngine", "WhisperAudio", "WhisperTensor"], swiftSettings: swiftSettings),
        .testTarget(
            name: "WhisperServerTests",
            dependencies: [
                "WhisperServer",
                "WhisperEngine",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
