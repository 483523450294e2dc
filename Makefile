# Ferry's front door. Every target does its own set-up (Debian packages,
# meson configure, build, hugepages) and is safe to run again.
#
#   make demo     multi-host overlay on this machine (root)
#   make test     unit + sim + integration suites (integration needs root)
#   make bench    benchmarks; figures go to docs/benchmarks.md
#   make lint     clang-format + clang-tidy, must be clean
#   make asan     unit suite under AddressSanitizer + UBSan
#   make clean    remove build directories
#   make install  meson install (DESTDIR=… PREFIX=…, default PREFIX /usr/local)
#   make deb      Debian package ../ferry_*.deb (dpkg-buildpackage -b -us -uc)
#   make deb-check  install that package in a fresh Debian 12 chroot, purge it (root)

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=
HOSTS      ?= 3

MESON_SETUP = meson setup --wipe
NINJA       = ninja

.PHONY: all deps build test unit asan demo fault bench lint format clean install deb deb-check

all: build

deps:
	@./scripts/install-deps

# Configure once; reconfigure only when the directory is missing or broken.
$(BUILD)/build.ninja: | deps
	@meson setup $(BUILD) $(MESON_OPTS) >/dev/null || $(MESON_SETUP) $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	@$(NINJA) -C $(BUILD)

test: build
	@./scripts/run-tests $(BUILD)

unit: build
	@./scripts/run-tests $(BUILD) unit

$(ASAN_BUILD)/build.ninja: | deps
	@meson setup $(ASAN_BUILD) -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false >/dev/null

asan: deps $(ASAN_BUILD)/build.ninja
	@$(NINJA) -C $(ASAN_BUILD)
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./scripts/run-tests $(ASAN_BUILD) unit

demo: build
	@./scripts/demo $(BUILD) $(HOSTS)

# The full fault suite (about 12 minutes; its short form is in make test).
fault: build
	@./tests/fault/run $(BUILD) --full

bench: build
	@./scripts/bench $(BUILD)

lint: build
	@./scripts/lint $(BUILD)

format:
	@git ls-files -- '*.h' '*.cc' | xargs clang-format -i

PREFIX  ?= /usr/local
DESTDIR ?=

install: build
	@meson configure $(BUILD) -Dprefix=$(PREFIX) >/dev/null
	@DESTDIR=$(DESTDIR) meson install -C $(BUILD)

deb: deps
	@./scripts/make-deb

deb-check: deb
	@./scripts/deb-check

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
