# Berth: `make demo` shows it working, `make test` runs every test. Both install what is missing.
SWIFT ?= swift
BIN_DIR = $(shell $(SWIFT) build --show-bin-path)

.PHONY: deps build test demo bench images clean

deps:
	./scripts/install-deps

build: deps
	$(SWIFT) build
	$(MAKE) -C shim BIN_DIR="$(BIN_DIR)"
	for arch in x86_64 arm64 arm; do ./vm-images/build $$arch > /dev/null || exit 1; done

images: deps
	./scripts/make-test-images > /dev/null

test: build images
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: build images
	BERTH_BIN_DIR="$(BIN_DIR)" ./scripts/demo

# Timings come from optimised binaries, with the Swift runtime linked in as a shipped CLI would
# have it (a dynamic Foundation costs each CLI start ~7 ms); the debug build is for tests.
bench: deps images
	$(SWIFT) build -c release -Xswiftc -static-stdlib
	$(MAKE) -C shim BIN_DIR="$$($(SWIFT) build -c release --show-bin-path)"
	BERTH_BIN_DIR="$$($(SWIFT) build -c release --show-bin-path)" ./bench/run

clean:
	rm -rf .build
