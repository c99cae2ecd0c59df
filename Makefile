# Berth: `make demo` shows it working, `make test` runs every test. Both install what is missing.
# Long steps (packages, compiles, guest kernels, Debian images) log to .build/logs and show one line each.
SWIFT ?= swift
BIN_DIR = $(shell $(SWIFT) build --show-bin-path)
RELEASE_BIN_DIR = $(shell $(SWIFT) build -c release --show-bin-path)
LOGS = $(CURDIR)/.build/logs
STEP = ./scripts/step
ARCHES = x86_64 arm64 arm

.PHONY: deps build release guests images demo-images test demo bench bench-vm bench-vm-files bench-vm-pause bench-healthcheck bench-cri compare conformance critest fuzz soak clean

deps:
	@$(STEP) "installing what is missing (scripts/install-deps)" $(LOGS)/deps.log ./scripts/install-deps

build: deps
	@$(STEP) "building berth, berthd and berth-shim (debug)" $(LOGS)/build.log \
		sh -c '$(SWIFT) build && $(MAKE) -C shim BIN_DIR="$(BIN_DIR)"'

# Optimised binaries with the Swift runtime linked in, as a shipped CLI would have it (a dynamic
# Foundation costs each CLI start ~7 ms): what the demo and the bench time.
release: deps
	@$(STEP) "building berth, berthd and berth-shim (release)" $(LOGS)/release.log \
		sh -c '$(SWIFT) build -c release -Xswiftc -static-stdlib && $(MAKE) -C shim BIN_DIR="$(RELEASE_BIN_DIR)"'

# Every architecture's minimal guest kernel and agent initramfs (minutes each the first time, then cached).
guests: deps
	@for arch in $(ARCHES); do \
		$(STEP) "guest kernel for $$arch VMs (guest-kernel/build $$arch)" $(LOGS)/guest-kernel-$$arch.log ./guest-kernel/build $$arch || exit 1; \
		$(STEP) "guest agent and initramfs for $$arch VMs (vm-images/build $$arch)" $(LOGS)/vm-images-$$arch.log ./vm-images/build $$arch || exit 1; \
	done

images: deps
	@$(STEP) "test images: busybox, hello-world, Debian amd64 and arm64 (scripts/make-test-images)" $(LOGS)/images.log \
		./scripts/make-test-images

# Unit tests first, in a process of their own: the integration tests block threads while their
# commands run, and a unit test's tasks must not wait behind them.
test: build guests images
	@$(STEP) "building the tests" $(LOGS)/build-tests.log $(SWIFT) build --build-tests
	$(MAKE) -s -C shim check
	$(MAKE) -s -C vm-images/agent check
	$(SWIFT) test --skip-build --skip '^IntegrationTests\.'
	$(SWIFT) test --skip-build --filter '^IntegrationTests\.'

# The parsers that read what clients, registries, images, containers and guests send, under libFuzzer and
# AddressSanitizer, FUZZ_SECONDS each (default 60) from the seeds in fuzz/corpus (fuzz/run).
fuzz: deps
	./fuzz/run

# 200 API clients against berthd and podman's service, 1,000 `run --rm` with every resource
# sampled, logs at full speed, and each operation on a full disk; writes its section of bench/RESULTS.md.
soak: release demo-images
	BERTH_BIN_DIR="$(RELEASE_BIN_DIR)" ./bench/soak

# The demo shows the Debian image when `make images` (or `make test`) has built it: its first
# build (two debootstraps) would double a first demo's wait.
demo-images: deps
	@$(STEP) "test images: busybox and hello-world (scripts/make-test-images --no-debian)" $(LOGS)/images.log \
		./scripts/make-test-images --no-debian

demo: release guests demo-images
	@BERTH_BIN_DIR="$(RELEASE_BIN_DIR)" ./scripts/demo

bench: release guests images
	BERTH_BIN_DIR="$(RELEASE_BIN_DIR)" ./bench/run

# Utility-VM starts cold and as clones of templates, density and load (bench/VM-START.md).
bench-vm: release guests demo-images
	BERTH_BIN_DIR="$(RELEASE_BIN_DIR)" ./bench/vm-start

# `cp` of 64 MiB both ways and `commit`, native vs x86_64 and arm64 VM containers (bench/VM-FILES.md).
bench-vm-files: release guests demo-images
	BERTH_BIN_DIR="$(RELEASE_BIN_DIR)" ./bench/vm-files

# Pausing a VM container: the guest's cgroup freezer (berthd's way) vs suspending the VM (bench/VM-PAUSE.md).
bench-vm-pause: release guests demo-images
	BERTH_BIN_DIR="$(RELEASE_BIN_DIR)" ./bench/vm-pause

# What a healthcheck probing every second costs in CPU, vs an exec per probe (bench/HEALTHCHECK.md).
bench-healthcheck: release demo-images
	BERTH_BIN_DIR="$(RELEASE_BIN_DIR)" ./bench/healthcheck

# A native pod to running through the CRI vs the same containers through the Docker API (bench/CRI-PODS.md).
bench-cri: release images
	BERTH_BIN_DIR="$(RELEASE_BIN_DIR)" ./bench/cri-pods

# Two builds' container starts side by side: `make compare BASE=<revision>` (bench/REVISIONS.md).
compare: release guests images
	BERTH_BIN_DIR="$(RELEASE_BIN_DIR)" ./bench/compare-revisions $(BASE)

# docker-py's own integration suite against berthd: `make conformance DOCKER_PY=<docker-py 7.1.0 checkout>`
# (conformance/DOCKER-PY.md). The suite is another project's: fetch it, never commit it.
conformance: build images
	BERTH_BIN_DIR="$(BIN_DIR)" ./conformance/run-docker-py $(DOCKER_PY)

# critest, the CRI validation suite of cri-tools v1.26.1, against berthd's CRI:
# `make critest CRI_TOOLS=<cri-tools v1.26.1 checkout>` (conformance/CRITEST.md). Fetch it, never commit it.
critest: build images
	BERTH_BIN_DIR="$(BIN_DIR)" ./conformance/run-critest $(CRI_TOOLS)

clean:
	rm -rf .build
