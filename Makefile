# Entry points; the build itself is CMake. `make demo` and `make test` do all
# set-up on a fresh Debian 12 machine (as root): packages, configure, build.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build demo test test-unit test-asan bench clean install

all: build

deps:
	@sh scripts/setup-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	sh scripts/demo.sh $(BUILD)

test: build
	sh scripts/test.sh $(BUILD) $(ASAN_BUILD)

bench: build
	sh bench/run.sh $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-clang
