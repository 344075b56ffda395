# Thin wrapper over CMake. `make run` and `make test` do all the set-up themselves.
BUILD ?= build
CONF ?= etc/coinpipe.conf
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local

.PHONY: all deps build run test install clean package bench soak fuzz

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
