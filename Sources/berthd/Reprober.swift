import Engine
import HostProbe
import Logging

/// SIGHUP's host probe (a new qemu, libvirt restarted, binfmt registered, a guest kernel built),
/// run off the signal loop: a probe that is slow on a loaded host (libvirt answering late) holds
/// up neither the reload event nor a shutdown. Signals that arrive while one runs fold into one
/// more probe after it.
actor Reprober {
    private let prober: HostProber
    private let host: HostState
    private let logger: Logger
    private var running = false
    private var again = false

    init(prober: HostProber, host: HostState, logger: Logger) {
        self.prober = prober
        self.host = host
        self.logger = logger
    }

    func request() {
        guard !running else {
            again = true
            return
        }
        running = true
        Task.detached { await self.probeUntilCurrent() }
    }

    private func probeUntilCurrent() async {
        repeat {
            again = false
            let report = await prober.probe(logger: logger)
            await host.replace(with: report)
            logger.info("host re-probed on SIGHUP", metadata: ["accelerator": "\(report.accelerator.kind.rawValue)"])
        } while again
        running = false
    }
}
