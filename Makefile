# Ferry's front door. Every target does its own set-up (Debian packages,
# meson configure, build, hugepages) and is safe to run again.
#
#   make demo     multi-host overlay on this machine (root)
#   make test     unit + sim + integration suites (integration needs root)
#   make bench    benchmarks; figures go to docs/benchmarks.md
#   make lint     clang-format + clang-tidy, must be clean
#   make asan     unit suite under AddressSanitizer + UBSan
#   make clean    remove build directories

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=
HOSTS      ?= 3

MESON_SETUP = meson setup --wipe
NINJA       = ninja

.PHONY: all deps build test unit asan demo fault bench lint format clean

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

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
