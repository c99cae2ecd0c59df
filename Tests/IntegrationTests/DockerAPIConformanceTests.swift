import Foundation
import Testing

/// Behaviours docker-py's own suite relies on (conformance/DOCKER-PY.md), each checked here through
/// docker-py or the docker CLI against berthd: the script asserts, and prints `ok` at its end.
@Suite(.serialized) struct DockerAPIConformanceTests {
    static let image = ContainerLifecycleTests.image

    static func runPython(_ daemon: DaemonFixture, _ script: String, timeout: TimeInterval = 180) throws -> Command.Result {
        let prelude = """
            import docker, io, json, os, socket, struct, sys, tarfile, tempfile, time
            client = docker.APIClient(base_url=sys.argv[1], version='auto', timeout=60)
            IMAGE = sys.argv[2]

            """
        return try Command.run(["python3", "-c", prelude + script, daemon.host, image], timeout: timeout)
    }

    @Test func killExecAndTheirExitCodes() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let result = try Self.runPython(daemon, """
                # A SIGKILL returns once the container is down.
                c = client.create_container(IMAGE, ['sleep', '9999'])
                client.start(c)
                client.kill(c)
                state = client.inspect_container(c)['State']
                assert state['Running'] is False and state['ExitCode'] == 137, state

                c = client.create_container(IMAGE, 'cat', stdin_open=True)
                client.start(c)
                # An exec that cannot start exits 126, as in dockerd.
                e = client.exec_create(c, 'no-such-command')
                client.exec_start(e)
                assert client.exec_inspect(e)['ExitCode'] == 126, client.exec_inspect(e)
                # -u and -w.
                e = client.exec_create(c, 'whoami', user='nobody')
                assert client.exec_start(e) == b'nobody\\n'
                e = client.exec_create(c, 'pwd', workdir='/tmp')
                assert client.exec_start(e) == b'/tmp\\n'
                # A tty exec started without Tty comes in stdout frames.
                e = client.exec_create(c, ['printf', 'framed'], tty=True)
                raw = client.exec_start(e, socket=True)
                sock = getattr(raw, '_sock', raw)
                header = b''
                while len(header) < 8:
                    header += sock.recv(8 - len(header))
                stream, size = struct.unpack('>BxxxL', header)
                assert (stream, size) == (1, 6), (stream, size)
                assert sock.recv(6) == b'framed'
                sock.close()
                # The exec config's detach keys end the session; the process runs on.
                client._general_configs['detachKeys'] = 'ctrl-p'
                e = client.exec_create(c, 'cat', stdin=True, tty=True)
                raw = client.exec_start(e, tty=True, socket=True)
                sock = getattr(raw, '_sock', raw)
                sock.sendall(b'\\x10')
                sock.settimeout(5)
                rest = b''
                while True:
                    chunk = sock.recv(128)
                    if not chunk:
                        break
                    rest += chunk
                assert client.exec_inspect(e)['Running'] is True, client.exec_inspect(e)
                client.remove_container(c, force=True)
                print('ok')
                """)
            #expect(result.status == 0 && result.stdout.hasSuffix("ok\n"), "\(result)")
        }
    }

    @Test func classicBuilderStreamAndOptions() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let result = try Self.runPython(daemon, """
                def build(dockerfile, **options):
                    return list(client.build(fileobj=io.BytesIO(dockerfile.encode()), decode=True, **options))

                # The image's ID comes before 'Successfully built' and the tags after it.
                lines = build(f'FROM {IMAGE}\\nRUN echo built > /built', tag='one')
                streams = [l.get('stream', '') for l in lines]
                aux = next(i for i, l in enumerate(lines) if 'aux' in l)
                assert 'Successfully built' in streams[aux + 1] and 'Successfully tagged one:latest' in streams[-1], lines
                # ONBUILD and the other config keys are always there.
                assert client.inspect_image('one')['Config']['OnBuild'] is None

                # A step's stderr in red; a failing step's exit code in errorDetail.
                lines = build(f'FROM {IMAGE}\\nRUN echo oops >&2', nocache=True)
                assert '\\x1b[91moops\\n\\x1b[0m' in [l.get('stream') for l in lines], lines
                lines = build(f'FROM {IMAGE}\\nRUN exit 3')
                assert lines[-1]['errorDetail']['code'] == 3, lines[-1]

                # --add-host in the steps' /etc/hosts; --network none leaves them without one.
                lines = build(f'FROM {IMAGE}\\nRUN grep -q "127.0.0.2\\tbuild.test" /etc/hosts', nocache=True,
                              extra_hosts={'build.test': '127.0.0.2'})
                assert 'errorDetail' not in lines[-1], lines
                lines = build(f'FROM {IMAGE}\\nRUN ip route | grep -q default', nocache=True, network_mode='none')
                assert lines[-1]['errorDetail']['code'] == 1, lines[-1]

                # --cache-from: only the named images' steps count as cache.
                script = f'FROM {IMAGE}\\nENV FOO=bar\\nRUN touch baz'
                build(script, tag='cached')
                hits = lambda lines: sum('Using cache' in l.get('stream', '') for l in lines)
                assert hits(build(script, cache_from=['cached'])) == 2
                assert hits(build(script, cache_from=['no-such-image'])) == 0

                # .dockerignore: whole-directory sources leave out what it names, re-included files stay.
                context = tempfile.mkdtemp()
                for path in ['kept', 'ignored/file', 'ignored/sub/excepted']:
                    os.makedirs(os.path.dirname(os.path.join(context, path)), exist_ok=True)
                    open(os.path.join(context, path), 'w').write(path)
                open(os.path.join(context, 'Dockerfile'), 'w').write(f'FROM {IMAGE}\\nADD . /ctx\\n')
                open(os.path.join(context, '.dockerignore'), 'w').write('ignored\\n!ignored/sub/excepted\\nDockerfile\\n.dockerignore\\n')
                for _ in client.build(path=context, tag='ignoring'):
                    pass
                c = client.create_container('ignoring', ['find', '/ctx', '-type', 'f'])
                client.start(c)
                client.wait(c)
                found = sorted(client.logs(c).decode().split())
                assert found == ['/ctx/ignored/sub/excepted', '/ctx/kept'], found
                client.remove_container(c)
                print('ok')
                """)
            #expect(result.status == 0 && result.stdout.hasSuffix("ok\n"), "\(result)")
        }
    }

    @Test func addHostReachesTheContainersHostsFile() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            for network in ["none", "bridge"] {
                let hosts = try ContainerLifecycleTests.docker(daemon, [
                    "run", "--rm", "--network", network, "--add-host", "db.test:10.1.2.3", "--add-host", "gw.test:host-gateway",
                    Self.image, "cat", "/etc/hosts",
                ])
                #expect(hosts.status == 0 && hosts.stdout.contains("10.1.2.3\tdb.test\n"), "\(network): \(hosts)")
                #expect(hosts.stdout.contains("\tgw.test\n") == (network == "bridge"), "\(network): \(hosts)")
            }
        }
    }

    @Test func importDiskUsagePruneAndParents() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let root = daemon.scratch + "/import-root"
            try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
            try "imported\n".write(toFile: root + "/etc/greeting", atomically: true, encoding: .utf8)
            // The busybox binary joins the greeting, so the imported image can run something.
            try Command.succeed(["sh", "-c", "mkdir -p \(root)/bin && docker -H \(daemon.host) run --rm \(Self.image) cat /bin/busybox > \(root)/bin/busybox && chmod 755 \(root)/bin/busybox"])
            let archive = daemon.scratch + "/root.tar"
            try Command.succeed(["tar", "-C", root, "-cf", archive, "."])

            let imported = try ContainerLifecycleTests.docker(daemon, [
                "import", "--change", "CMD [\"/bin/busybox\", \"cat\", \"/etc/greeting\"]", "-m", "from a file", archive, "imported:file"])
            #expect(imported.status == 0 && imported.stdout.hasPrefix("sha256:"), "\(imported)")
            let ran = try ContainerLifecycleTests.docker(daemon, ["run", "--rm", "imported:file"])
            #expect(ran.stdout == "imported\n", "\(ran)")
            let streamed = try Command.run(["sh", "-c", "gzip -c \(archive) | \(TestPaths.berth) -H \(daemon.host) import - imported:stream"])
            #expect(streamed.status == 0, "\(streamed)")
            let history = try ContainerLifecycleTests.docker(daemon, ["history", "--format", "{{.Comment}}", "imported:file"])
            #expect(history.stdout == "from a file\n", "\(history)")
            let garbage = try ContainerLifecycleTests.docker(daemon, ["import", "-", "imported:garbage"], input: Data("not a tar".utf8))
            #expect(garbage.status != 0 && garbage.stderr.contains("importing the archive"), "\(garbage)")
            #expect(try ContainerLifecycleTests.docker(daemon, ["images", "-q", "imported:garbage"]).stdout.isEmpty)

            let result = try Self.runPython(daemon, """
                base = client.inspect_image(IMAGE)['Id']
                c = client.create_container(IMAGE, ['sh', '-c', 'echo data > /data/file'], volumes=['/data'],
                                            host_config=client.create_host_config(binds={'dfvolume': {'bind': '/data'}}))
                client.start(c)
                client.wait(c)
                # A committed image names the image it came from.
                committed = client.commit(c, repository='committed')['Id']
                assert client.inspect_image(committed)['Parent'] == base

                df = client.df()
                volume = next(v for v in df['Volumes'] if v['Name'] == 'dfvolume')
                assert volume['UsageData'] == {'Size': 5, 'RefCount': 1}, volume
                container = next(x for x in df['Containers'] if x['Id'] == c['Id'])
                assert container['SizeRw'] >= 0 and container['SizeRootFs'] > 0, container
                image = next(i for i in df['Images'] if i['Id'] == base)
                assert image['Containers'] == 1 and df['LayersSize'] > 0, (image, df['LayersSize'])

                # Prune of every unused image names what it untagged.
                client.remove_container(c)
                pruned = client.prune_images({'dangling': False})
                untagged = [i.get('Untagged') for i in pruned['ImagesDeleted']]
                assert 'committed:latest' in untagged and 'imported:file' in untagged, pruned
                assert committed in [i.get('Deleted') for i in pruned['ImagesDeleted']], pruned

                # A load that fails says so in its stream.
                try:
                    docker.DockerClient(base_url=sys.argv[1]).images.load(b'not an archive')
                    raise AssertionError('load of garbage succeeded')
                except docker.errors.ImageLoadError:
                    pass
                print('ok')
                """)
            #expect(result.status == 0 && result.stdout.hasSuffix("ok\n"), "\(result)")
        }
    }

    @Test func updateChangesARunningContainersLimitsAndRestartPolicy() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let docker = { (arguments: [String]) in try ContainerLifecycleTests.docker(daemon, arguments) }
            let run = try docker(["run", "-d", "--name", "limited", "-m", "400m", "--cpuset-cpus", "0", "--memory-reservation", "64m",
                                  "--memory-swappiness", "20", Self.image, "sleep", "600"])
            #expect(run.status == 0, "\(run)")
            let id = try docker(["inspect", "-f", "{{.Id}}", "limited"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let read = { (controller: String, file: String) -> String in
                ((try? String(contentsOfFile: "/sys/fs/cgroup/\(controller)/berth/\(id)/\(file)", encoding: .utf8)) ?? "")
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(read("memory", "memory.limit_in_bytes") == "\(400 << 20)")
            #expect(read("memory", "memory.soft_limit_in_bytes") == "\(64 << 20)")
            #expect(read("memory", "memory.swappiness") == "20")
            #expect(read("cpuset", "cpuset.cpus") == "0")

            // Up and down: memsw follows, in the order the kernel accepts.
            for (memory, bytes) in [("600m", 600 << 20), ("300m", 300 << 20)] {
                let update = try docker(["update", "-m", memory, "--cpus", "0.5", "--restart", "on-failure:3", "limited"])
                #expect(update.status == 0 && update.stdout == "limited\n", "\(update)")
                #expect(read("memory", "memory.limit_in_bytes") == "\(bytes)")
            }
            #expect(read("cpu", "cpu.cfs_quota_us") == "50000")
            let shown = try docker(["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "limited"])
            #expect(shown.stdout == "\(300 << 20) 500000000 on-failure:3\n", "\(shown)")
            let refused = try docker(["update", "-m", "1m", "limited"])
            #expect(refused.status != 0 && refused.stderr.contains("Minimum memory limit allowed is 6MB"), "\(refused)")
            #expect(read("memory", "memory.limit_in_bytes") == "\(300 << 20)", "a refused update changes nothing")

            // A policy set by update governs the next exit.
            #expect(try docker(["run", "-d", "--name", "once", Self.image, "sh", "-c", "sleep 1; exit 3"]).status == 0)
            let berth = try daemon.berth(["update", "--restart", "on-failure:2", "once"])
            #expect(berth.status == 0, "\(berth)")
            let restarted = try await poll(seconds: 30, every: .milliseconds(500)) { () -> String? in
                let seen = try docker(["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "once"]).stdout
                return seen == "2 exited\n" ? seen : nil
            }
            let last = try docker(["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "once"]).stdout
            #expect(restarted != nil, "\(last)")
        }
    }

    @Test func logDriversNoneAndUnknown() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let docker = { (arguments: [String]) in try ContainerLifecycleTests.docker(daemon, arguments) }
            let unknown = try docker(["create", "--log-driver", "asdf", Self.image, "true"])
            #expect(unknown.status != 0 && unknown.stderr.contains("logger: no log driver named 'asdf' is registered"), "\(unknown)")
            let quiet = try docker(["run", "--name", "quiet", "--log-driver", "none", Self.image, "echo", "unseen"])
            #expect(quiet.status == 0 && quiet.stdout == "unseen\n", "attached output still arrives: \(quiet)")
            let logs = try docker(["logs", "quiet"])
            #expect(logs.status != 0 && logs.stderr.contains("configured logging driver does not support reading"), "\(logs)")
            #expect(try docker(["inspect", "-f", "{{.HostConfig.LogConfig.Type}}", "quiet"]).stdout == "none\n")
            let id = try docker(["inspect", "-f", "{{.Id}}", "quiet"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let logFiles = (try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/containers/" + id)) ?? []
            #expect(!logFiles.contains { $0.hasSuffix(".log") }, "\(logFiles)")
        }
    }

    @Test func volumesFromRuntimesCgroupNamespacesAndDeviceRules() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let docker = { (arguments: [String]) in try ContainerLifecycleTests.docker(daemon, arguments) }
            #expect(try docker(["create", "--name", "data", "-v", "/shared", "-v", "named:/named", Self.image, "true"]).status == 0)
            let shared = try docker(["run", "--rm", "--volumes-from", "data", Self.image, "sh", "-c", "echo x > /shared/f && echo y > /named/g"])
            #expect(shared.status == 0, "\(shared)")
            let readOnly = try docker(["run", "--rm", "--volumes-from", "data:ro", Self.image, "sh", "-c", "cat /shared/f; echo z > /shared/f"])
            #expect(readOnly.status != 0 && readOnly.stdout == "x\n" && readOnly.stderr.contains("Read-only file system"), "\(readOnly)")
            let missing = try docker(["run", "--rm", "--volumes-from", "nothing", Self.image, "true"])
            #expect(missing.status != 0 && missing.stderr.contains("No such container: nothing"), "\(missing)")

            // A stopped container's volumes are part of what cp sees and writes.
            let copied = try docker(["cp", "data:/shared/f", daemon.scratch + "/f.out"])
            #expect(copied.status == 0 && (try? String(contentsOfFile: daemon.scratch + "/f.out", encoding: .utf8)) == "x\n", "\(copied)")
            try "into the volume\n".write(toFile: daemon.scratch + "/in.txt", atomically: true, encoding: .utf8)
            #expect(try docker(["cp", daemon.scratch + "/in.txt", "data:/named/"]).status == 0)
            #expect(try docker(["run", "--rm", "-v", "named:/n", Self.image, "cat", "/n/in.txt"]).stdout == "into the volume\n")

            #expect(try docker(["run", "--rm", "--runtime", "runc", Self.image, "true"]).status == 0)
            let bogus = try docker(["run", "--rm", "--runtime", "bogus", Self.image, "true"])
            #expect(bogus.status != 0 && bogus.stderr.contains("unknown or invalid runtime name: bogus"), "\(bogus)")
            #expect(try docker(["inspect", "-f", "{{.HostConfig.Runtime}}", "data"]).stdout == "berth\n")

            let own = try docker(["run", "-d", "--name", "own-cgroupns", "--cgroupns", "private", Self.image, "sleep", "60"])
            #expect(own.status == 0, "\(own)")
            let seen = try docker(["exec", "own-cgroupns", "grep", "pids", "/proc/self/cgroup"])
            #expect(seen.stdout.hasSuffix(":pids:/\n"), "the container's cgroup is its root: \(seen)")
            let hostView = try docker(["run", "--rm", "--cgroupns", "host", Self.image, "grep", "pids", "/proc/self/cgroup"])
            #expect(hostView.stdout.contains(":pids:/berth/"), "\(hostView)")

            // The devices cgroup refuses a node until a rule allows it.
            let script = "mknod /node c 10 237 && cat /node"
            let refused = try docker(["run", "--rm", Self.image, "sh", "-c", script])
            #expect(refused.stderr.contains("Operation not permitted"), "\(refused)")
            let allowed = try docker(["run", "--rm", "--device-cgroup-rule", "c 10:237 rwm", Self.image, "sh", "-c", script])
            #expect(!allowed.stderr.contains("Operation not permitted"), "\(allowed)")
            let malformed = try Self.runPython(daemon, """
                try:
                    client.create_container(IMAGE, 'true', host_config=client.create_host_config(device_cgroup_rules=['x 1:2']))
                    raise AssertionError('a malformed rule was taken')
                except docker.errors.APIError as error:
                    assert 'invalid device cgroup rule' in str(error), error
                print('ok')
                """)
            #expect(malformed.stdout.hasSuffix("ok\n"), "\(malformed)")
        }
    }

    @Test func statsNetworksAndAttachReplayingLogs() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let result = try Self.runPython(daemon, """
                c = client.create_container(IMAGE, ['sh', '-c', 'ping -c 2 -W 1 127.0.0.1 >/dev/null; echo done; sleep 60'])
                client.start(c)
                stats = client.stats(c, stream=False)
                assert 'eth0' in stats['networks'], stats.get('networks')
                assert set(stats['networks']['eth0']) >= {'rx_bytes', 'tx_packets', 'rx_dropped', 'tx_errors'}
                quiet = client.create_container(IMAGE, 'true', host_config=client.create_host_config(network_mode='none'))
                client.start(quiet)
                client.wait(quiet)
                # An exited container's log, replayed by attach with stream=0.
                e = client.create_container(IMAGE, ['sh', '-c', 'echo replayed; sleep 0.5'])
                client.start(e)
                client.wait(e)
                assert client.attach(e, stream=False, logs=True) == b'replayed\\n', client.attach(e, stream=False, logs=True)
                # docker-py reads the head through a buffer and drops what came with it: a client slow to
                # read the head gets it alone, the replayed frame after it.
                raw = socket.socket(socket.AF_UNIX)
                raw.connect(sys.argv[1].replace('unix://', ''))
                raw.sendall(f"POST /containers/{e['Id']}/attach?logs=1&stream=0&stdout=1 HTTP/1.1\\r\\nHost: d\\r\\n"
                            "Connection: Upgrade\\r\\nUpgrade: tcp\\r\\nContent-Length: 0\\r\\n\\r\\n".encode())
                time.sleep(0.3)
                head = raw.recv(65536)
                assert head.startswith(b'HTTP/1.1 101') and head.endswith(b'\\r\\n\\r\\n'), head
                rest = b''
                while chunk := raw.recv(65536):
                    rest += chunk
                assert rest == b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x09replayed\\n', rest
                client.remove_container(c, force=True)
                print('ok')
                """)
            #expect(result.status == 0 && result.stdout.hasSuffix("ok\n"), "\(result)")
        }
    }

    @Test func networkIPAMOptionsMACAndLinkLocalAddresses() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let result = try Self.runPython(daemon, """
                from docker.types import IPAMConfig, IPAMPool
                ipam = IPAMConfig(pool_configs=[IPAMPool(subnet='172.29.0.0/16', iprange='172.29.5.0/24', gateway='172.29.5.254',
                                                         aux_addresses={'reserved': '172.29.5.1'})])
                net = client.create_network('spaced name', ipam=ipam)['Id']
                config = client.inspect_network(net)['IPAM']['Config']
                assert config == [{'Subnet': '172.29.0.0/16', 'IPRange': '172.29.5.0/24', 'Gateway': '172.29.5.254',
                                   'AuxiliaryAddresses': {'reserved': '172.29.5.1'}}], config

                def addresses(**options):
                    c = client.create_container(IMAGE, ['ip', 'addr', 'show', 'eth0'], **options)
                    client.start(c)
                    client.wait(c)
                    text = client.logs(c).decode()
                    settings = client.inspect_container(c)['NetworkSettings']
                    client.remove_container(c)
                    return text, settings

                # From the range, skipping the auxiliary address; the MAC asked for; link-local addresses added.
                text, settings = addresses(
                    host_config=client.create_host_config(network_mode='spaced name'),
                    networking_config=client.create_networking_config({'spaced name': client.create_endpoint_config(
                        link_local_ips=['169.254.8.8'], driver_opt={'com.example.option': 'on'}, mac_address='02:42:ac:1d:00:0a')}))
                assert 'inet 172.29.5.2/16' in text and 'inet 169.254.8.8/16' in text, text
                assert 'link/ether 02:42:ac:1d:00:0a' in text, text
                endpoint = settings['Networks']['spaced name']
                assert endpoint['IPAMConfig']['LinkLocalIPs'] == ['169.254.8.8'], endpoint
                assert endpoint['DriverOpts'] == {'com.example.option': 'on'}, endpoint
                assert endpoint['MacAddress'] == '02:42:ac:1d:00:0a' == settings['MacAddress'], settings

                # An older client's Config.MacAddress goes to its first network.
                old = docker.APIClient(base_url=sys.argv[1], version='1.43')
                c = old.create_container(IMAGE, ['sleep', '30'], mac_address='02:42:ac:11:00:0b')
                old.start(c)
                assert old.inspect_container(c)['NetworkSettings']['MacAddress'] == '02:42:ac:11:00:0b'
                old.remove_container(c, force=True)
                try:
                    client.create_container(IMAGE, 'true', networking_config=client.create_networking_config(
                        {'bridge': client.create_endpoint_config(link_local_ips=['10.0.0.1'])}))
                    raise AssertionError('a non-link-local address was taken')
                except docker.errors.APIError as error:
                    assert 'invalid link-local IP address' in str(error), error
                client.remove_network(net)
                print('ok')
                """)
            #expect(result.status == 0 && result.stdout.hasSuffix("ok\n"), "\(result)")
        }
    }

    /// An IPv6 bridge network: containers reach each other over IPv6 by address and by name.
    @Test func ipv6BridgeNetworkWithPing6BetweenContainers() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let docker = { (arguments: [String]) in try ContainerLifecycleTests.docker(daemon, arguments) }
            let created = try docker(["network", "create", "--ipv6", "--subnet", "2001:db8:77::/64", "six"])
            #expect(created.status == 0, "\(created)")
            let shown = try docker(["network", "inspect", "-f", "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}}={{.Gateway}} {{end}}", "six"])
            let sixID = try docker(["network", "inspect", "-f", "{{.Id}}", "six"]).stdout.prefix(9)
            // IPv6 is kept off other Berth bridges as IPv4 is, whatever the host's forwarding.
            let isolation = try Command.run(["ip6tables", "-S", "BERTH-FORWARD"]).stdout
            #expect(isolation.contains("-A BERTH-FORWARD -i berth-\(sixID) -o berth+ -j DROP"), "\(isolation)")
            #expect(shown.stdout.hasPrefix("true ") && shown.stdout.contains("2001:db8:77::/64=2001:db8:77::1 "), "\(shown)")
            #expect(try docker(["run", "-d", "--name", "server6", "--network", "six", Self.image, "sleep", "600"]).status == 0)
            let address = try docker(["inspect", "-f", "{{.NetworkSettings.Networks.six.GlobalIPv6Address}}/{{.NetworkSettings.Networks.six.GlobalIPv6PrefixLen}} {{.NetworkSettings.Networks.six.IPv6Gateway}}", "server6"])
            #expect(address.stdout == "2001:db8:77::2/64 2001:db8:77::1\n", "\(address)")
            let pinged = try docker(["run", "--rm", "--network", "six", "--ip6", "2001:db8:77::99", Self.image, "sh", "-c",
                                     "ip -6 addr show eth0 | grep -q 2001:db8:77::99 && ping -6 -c 1 -W 3 2001:db8:77::2 && ping -6 -c 1 -W 3 server6"])
            #expect(pinged.status == 0 && pinged.stdout.contains("1 packets received"), "\(pinged)")
            let outside = try docker(["run", "--rm", "--network", "six", "--ip6", "2001:db9::5", Self.image, "true"])
            #expect(outside.status != 0 && outside.stderr.contains("invalid IPv6 address"), "\(outside)")
            // An IPv6 subnet alone enables IPv6; turning it off with one is refused.
            #expect(try docker(["network", "create", "--subnet", "2001:db8:78::/64", "implied"]).status == 0)
            #expect(try docker(["network", "inspect", "-f", "{{.EnableIPv6}}", "implied"]).stdout == "true\n")
            let disabled = try Self.runPython(daemon, """
                # docker-py sends EnableIPv6 only when true: the request as the docker CLI makes it with --ipv6=false.
                response = client._post_json(client._url('/networks/create'), data={
                    'Name': 'off', 'EnableIPv6': False, 'IPAM': {'Config': [{'Subnet': '2001:db8:79::/64'}]}})
                assert response.status_code == 400 and 'IPv6 is disabled' in response.text, response.text
                print('ok')
                """)
            #expect(disabled.stdout.hasSuffix("ok\n"), "\(disabled)")
            let overlapping = try docker(["network", "create", "--ipv6", "--subnet", "2001:db8:77::/48", "overlap"])
            #expect(overlapping.status != 0 && overlapping.stderr.contains("overlaps"), "\(overlapping)")
            // With no IPv6 subnet given, a unique local /64.
            #expect(try daemon.berth(["network", "create", "--ipv6", "ula"]).status == 0)
            let ula = try docker(["run", "--rm", "--network", "ula", Self.image, "ip", "-6", "addr", "show", "eth0"])
            #expect(ula.stdout.contains("inet6 fd") && ula.stdout.contains("scope global"), "\(ula)")
            // docker-py's connect with an IPv6 address.
            let connected = try Self.runPython(daemon, """
                c = client.create_container(IMAGE, ['sleep', '60'])
                client.connect_container_to_network(c, 'six', ipv6_address='2001:db8:77::42')
                client.start(c)
                endpoint = client.inspect_container(c)['NetworkSettings']['Networks']['six']
                assert endpoint['IPAMConfig']['IPv6Address'] == '2001:db8:77::42' == endpoint['GlobalIPv6Address'], endpoint
                client.remove_container(c, force=True)
                print('ok')
                """)
            #expect(connected.stdout.hasSuffix("ok\n"), "\(connected)")
            #expect(try docker(["rm", "-f", "server6"]).status == 0)
            #expect(try docker(["network", "rm", "six", "ula", "implied"]).status == 0)
            #expect(!(try Command.run(["ip6tables", "-S", "BERTH-FORWARD"]).stdout.contains("berth-\(sixID)")), "the network's rules go with it")
        }
    }

    @Test func legacyLinksOnTheDefaultAndUserNetworks() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let docker = { (arguments: [String]) in try ContainerLifecycleTests.docker(daemon, arguments) }
            #expect(try docker(["run", "-d", "--name", "db", "-e", "SECRET=s3", "--expose", "5432", Self.image, "sleep", "600"]).status == 0)
            let address = try docker(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "db"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let linked = try docker(["run", "--name", "app", "--link", "db:database", Self.image, "sh", "-c", "env; cat /etc/hosts"])
            #expect(linked.status == 0, "\(linked)")
            for expected in ["DATABASE_NAME=/app/database", "DATABASE_ENV_SECRET=s3", "DATABASE_PORT=tcp://\(address):5432",
                             "DATABASE_PORT_5432_TCP_ADDR=\(address)", "\(address)\tdatabase"] {
                #expect(linked.stdout.contains(expected), "\(expected) in \(linked.stdout)")
            }
            #expect(try docker(["inspect", "-f", "{{.HostConfig.Links}}", "app"]).stdout == "[/db:/app/database]\n")
            let removed = try docker(["rm", "--link", "app/database"])
            #expect(removed.status == 0, "\(removed)")
            #expect(try docker(["inspect", "-f", "{{.HostConfig.Links}}", "app"]).stdout == "[]\n")
            let missing = try docker(["create", "--link", "nothing:x", Self.image, "true"])
            #expect(missing.status != 0 && missing.stderr.contains("could not get container for nothing"), "\(missing)")
            #expect(try docker(["stop", "-t", "0", "db"]).status == 0)
            let stopped = try docker(["run", "--rm", "--link", "db:database", Self.image, "true"])
            #expect(stopped.status != 0 && stopped.stderr.contains("Cannot link to a non running container"), "\(stopped)")

            // On a user network the alias resolves for the linking container only.
            #expect(try docker(["network", "create", "linked"]).status == 0)
            #expect(try docker(["run", "-d", "--name", "upstream", "--network", "linked", Self.image, "sleep", "600"]).status == 0)
            let viaAlias = try docker(["run", "--rm", "--network", "linked", "--link", "upstream:bar", Self.image, "ping", "-c", "1", "-W", "2", "bar"])
            #expect(viaAlias.status == 0, "\(viaAlias)")
            let others = try docker(["run", "--rm", "--network", "linked", Self.image, "nslookup", "bar"])
            #expect(others.status != 0 || !others.stdout.contains("Address 1"), "\(others)")
            #expect(try docker(["rm", "-f", "upstream"]).status == 0)
            #expect(try docker(["network", "rm", "linked"]).status == 0)
        }
    }

    /// Contexts as docker-py sends them: gzipped, and with a Dockerfile from outside the context,
    /// which it adds under a name of its own and names in a second `dockerfile` value.
    @Test func gzipContextsAndDockerfilesOutsideTheContext() async throws {
        try await ContainerLifecycleTests.withImages { daemon in
            let result = try Self.runPython(daemon, """
                context, elsewhere = tempfile.mkdtemp(), tempfile.mkdtemp()
                open(os.path.join(context, 'file.txt'), 'w').write('hello')
                open(os.path.join(context, '.dockerignore'), 'w').write('.dockerignore\\n')
                open(os.path.join(elsewhere, 'Dockerfile'), 'w').write(f'FROM {IMAGE}\\nCOPY . /src\\n')
                lines = list(client.build(path=context, dockerfile=os.path.join(elsewhere, 'Dockerfile'), tag='outside', decode=True))
                assert 'Successfully tagged outside:latest' in lines[-1]['stream'], lines
                c = client.create_container('outside', ['ls', '-A', '/src'])
                client.start(c)
                client.wait(c)
                assert client.logs(c) == b'file.txt\\n', client.logs(c)
                open(os.path.join(context, 'Dockerfile'), 'w').write(f'FROM {IMAGE}\\nCOPY file.txt /\\n')
                lines = list(client.build(path=context, gzip=True, tag='zipped', decode=True))
                assert 'Successfully tagged zipped:latest' in lines[-1]['stream'], lines
                print('ok')
                """)
            #expect(result.status == 0 && result.stdout.hasSuffix("ok\n"), "\(result)")
        }
    }
}
