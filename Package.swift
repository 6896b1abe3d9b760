// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "SwiftVirt",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftvirt", targets: ["swiftvirt"]),
        .executable(name: "swiftvirtd", targets: ["swiftvirtd"]),
        .executable(name: "swiftvirt-img", targets: ["swiftvirt-img"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        // The only C: linux/kvm.h structs, ioctl request numbers and a non-variadic ioctl.
        .target(name: "CKVM"),
        // Typed /dev/kvm API: Hypervisor, VirtualMachine, VCPU. The only place issuing KVM ioctls.
        .target(
            name: "KVM",
            dependencies: ["CKVM", .product(name: "SystemPackage", package: "swift-system")]),
        // Guest RAM: mmap'd regions, bounds- and overflow-checked access.
        .target(name: "GuestMemory", dependencies: ["CKVM"]),
        // Boot protocols, boot-time tables and CPUID: pure builders over guest memory.
        .target(name: "X86Boot", dependencies: ["KVM", "GuestMemory"]),
        // Completes instructions a software KVM gives up on; converts the broken syscall entry.
        .target(name: "X86Emulation", dependencies: ["KVM", "GuestMemory"]),
        // Bus and legacy devices (UART, i8042, ACPI power): state machines with injected effects.
        .target(name: "Devices"),
        // Virtqueues, the virtio-mmio transport and device models (virtio-blk), separate from backends.
        .target(name: "Virtio", dependencies: ["CKVM", "GuestMemory", "Devices"]),
        // zlib and zstd for qcow2 compressed clusters (system libraries: zlib1g-dev, libzstd-dev).
        .systemLibrary(name: "CZlib"),
        .systemLibrary(name: "CZstd"),
        // Disk images: raw and qcow2 (v2/v3, backing chains, snapshots, compression), qemu-img compatible.
        .target(name: "DiskImage", dependencies: ["CZlib", "CZstd"]),
        // The image tool: qemu-img's CLI, messages and exit codes over DiskImage.
        .executableTarget(
            name: "swiftvirt-img",
            dependencies: ["DiskImage", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Machine builder, vCPU threads, run loop, console.
        .target(
            name: "VMM",
            dependencies: [
                "KVM", "GuestMemory", "X86Boot", "X86Emulation", "Devices", "Virtio", "DiskImage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .executableTarget(
            name: "swiftvirt",
            dependencies: [
                "VMM", "ManagementClient", "LibvirtProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // libvirt's remote RPC protocol: XDR, packets, procedure numbers, message layouts. No I/O.
        .target(name: "LibvirtProtocol"),
        // libvirt domain XML: a strict bounded parser, the domain model, libvirt-shaped output.
        .target(name: "DomainXML", dependencies: ["LibvirtProtocol"]),
        // Domains: persistent store, one detached `swiftvirt run` per running domain, re-adoption; storage
        // pools of image files made with DiskImage. No NIO.
        .target(name: "Management", dependencies: ["DomainXML", "LibvirtProtocol", "DiskImage"]),
        // A blocking client of the daemon's libvirt remote protocol: what `swiftvirt list/start/...` use.
        // Management only for its UNIX socket connect.
        .target(name: "ManagementClient", dependencies: ["LibvirtProtocol", "Management"]),
        // The management daemon: libvirt's remote protocol on swift-nio over UNIX sockets.
        .executableTarget(
            name: "swiftvirtd",
            dependencies: [
                "LibvirtProtocol", "DomainXML", "Management",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "ManagementTests",
            dependencies: [
                "Management", "ManagementClient", "swiftvirtd", "DomainXML", "LibvirtProtocol", "DiskImage",
            ]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "LibvirtProtocolTests", dependencies: ["LibvirtProtocol", "TestSupport"]),
        .testTarget(name: "DomainXMLTests", dependencies: ["DomainXML", "LibvirtProtocol"]),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "swiftvirtd", "LibvirtProtocol", "DomainXML", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "DiskImageTests", dependencies: ["DiskImage"]),
        .testTarget(name: "ImageToolTests", dependencies: ["swiftvirt-img", "TestSupport"]),
        .testTarget(name: "GuestMemoryTests", dependencies: ["GuestMemory"]),
        .testTarget(name: "X86BootTests", dependencies: ["X86Boot", "KVM", "GuestMemory"]),
        .testTarget(name: "DevicesTests", dependencies: ["Devices"]),
        .testTarget(name: "VirtioTests", dependencies: ["Virtio", "GuestMemory", "Devices"]),
        .testTarget(name: "X86EmulationTests", dependencies: ["X86Emulation", "KVM", "GuestMemory", "TestSupport"]),
        .testTarget(name: "KVMTests", dependencies: ["KVM", "GuestMemory", "X86Emulation", "VMM", "Devices"]),
        .testTarget(name: "IntegrationTests", dependencies: ["VMM"]),
    ]
)
