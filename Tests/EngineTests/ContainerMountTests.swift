import APIModels
import Testing
@testable import Engine

struct ContainerMountTests {
    @Test func readsDockerVolumeSpecifications() throws {
        #expect(try ContainerMount.parse(bind: "data:/srv//data/") == ContainerMount(kind: .volume, volume: "data", target: "/srv/data"))
        #expect(try ContainerMount.parse(bind: "/host:/in:ro,z")
                    == ContainerMount(kind: .bind, source: "/host", target: "/in", readOnly: true))
        #expect(try ContainerMount.parse(bind: "/host:/in:rshared").options == "rshared")
        #expect(try ContainerMount.parse(bind: "data:/in:nocopy").noCopy)
        for bad in ["/in", "data:/", "data:in", "data:/a/../b", "a:/in:bogus", "data:/in:rshared", "x:/in", ":/in", "a:b:c:d"] {
            #expect(throws: ContainerError.self, "\(bad)") { try ContainerMount.parse(bind: bad) }
        }
    }

    @Test func readsMountRequestsAndTmpfsOptions() throws {
        var tmpfs = MountRequest(Type: "tmpfs", Target: "/t")
        tmpfs.TmpfsOptions = .init(SizeBytes: 1 << 20, Mode: 0o1777)
        #expect(try ContainerMount.parse(tmpfs) == ContainerMount(kind: .tmpfs, target: "/t", options: "size=1048576,mode=1777"))
        #expect(try ContainerMount.parse(MountRequest(Target: "/v")) == ContainerMount(kind: .volume, target: "/v"))
        #expect(try ContainerMount.tmpfs(target: "/t", options: "rw,noexec,size=64m").options == "size=64m")
        #expect(try ContainerMount.tmpfs(target: "/t", options: "ro").readOnly)
        #expect(throws: ContainerError.self) { try ContainerMount.parse(MountRequest(Type: "bind", Source: "relative", Target: "/x")) }
        #expect(throws: ContainerError.self) { try ContainerMount.parse(MountRequest(Type: "tmpfs", Source: "/x", Target: "/x")) }
        #expect(throws: ContainerError.self) { try ContainerMount.parse(MountRequest(Type: "npipe", Target: "/x")) }
        #expect(throws: ContainerError.self) { try ContainerMount.tmpfs(target: "/t", options: "exec") }
    }

    @Test func theImagesVolumesFillOnlyTargetsLeftFree() throws {
        var host = HostConfig()
        host.Binds = ["named:/data"]
        host.Tmpfs = ["/run": "size=1m"]
        var config = ContainerConfig()
        config.Volumes = ["/cache": .object([:])]
        let mounts = try ContainerMount.requested(host, config, imageVolumes: ["/data", "/var/lib/x"])
        #expect(mounts.map(\.target) == ["/data", "/run", "/cache", "/var/lib/x"])
        #expect(mounts.map(\.volume) == ["named", nil, nil, nil])
        host.Mounts = [MountRequest(Type: "volume", Source: "other", Target: "/data")]
        #expect(throws: ContainerError.self) { try ContainerMount.requested(host, config, imageVolumes: []) }
    }

    @Test func volumeNamesFollowDocker() {
        for good in ["ab", "my-vol_1.2", "0x"] { #expect(VolumeRecord.isValidName(good), "\(good)") }
        for bad in ["a", "-ab", ".ab", "a/b", "a b", "ünï"] { #expect(!VolumeRecord.isValidName(bad), "\(bad)") }
    }
}
