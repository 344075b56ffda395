# Thin wrapper over CMake. `make run` and `make test` do all the set-up themselves.
BUILD ?= build
CONF ?= etc/coinpipe.conf
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local

.PHONY: all deps build run test install clean package bench soak soak-stream fuzz

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run: build
	@mkdir -p data
	$(BUILD)/coinpipe -c $(CONF)

test: deps
	tools/run-tests.sh

install: build
	cmake --install $(BUILD)

clean:
	rm -rf build build-asan build-fuzz

# Performance harness (issue 8): installs bench-only packages (nginx, python3-pandas, ...),
# builds, runs bench/run.py (about 10 minutes) and writes bench/results/<date>-<commit>.md
# and bench/results/latest.md. Never part of `make test`. BENCH_ARGS passes options through.
BENCH_ARGS ?=
bench: deps $(BUILD)/CMakeCache.txt
	@bench/install-deps.sh
	cmake --build $(BUILD) -j$(JOBS)
	python3_bin=$$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 ); \
	out=bench/results/$$(date -u +%Y-%m-%d)-$$(git rev-parse --short HEAD 2>/dev/null || echo local).md; \
	$$python3_bin bench/run.py --build $(BUILD) --out $$out --out bench/results/latest.md $(BENCH_ARGS)

# 30 minutes against the mock exchange with a sink failing 10% of writes (SOAK_MINUTES=N to shorten)
soak: build
	tests/soak/soak.sh

# 10 minutes of a streaming pipeline against bench/ws_replay.py, cut every 2 minutes (SOAK_MINUTES=N)
soak-stream: build
	tests/soak/stream_soak.sh

# Debian packages (coinpipe, coinpipe-postgresql, coinpipe-dev) in $(BUILD)/debs; checked with lintian.
package: deps
	tools/build-debs.sh $(BUILD)/debs

# random-seed fuzzing of every parser for FUZZ_SECONDS each (make test runs a fixed-seed pass)
fuzz: deps
	FUZZ_SECONDS=$${FUZZ_SECONDS:-60} tools/run-fuzz.sh
