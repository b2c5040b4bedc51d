# Thin wrapper around CMake, as the README's two commands want it.
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build deps demo test test-asan test-valgrind bench clean format

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: deps
	@$(MAKE) --no-print-directory build
	@scripts/demo.sh $(BUILD)/runnerfleet

# Every test: the suite, the same suite built with ASan + UBSan, and the
# integration tests with each runnerfleet run under valgrind.
test: deps
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-asan test-valgrind

# The sanitizer build (ASan + UBSan) runs the same suite in its own folder.
test-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan CMAKE_FLAGS="-DRF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" build
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# The integration tests again, with every runnerfleet run under valgrind.
test-valgrind: deps
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && RF_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
	  ctest --output-on-failure -j $(JOBS) -L integration

bench: deps
	@$(MAKE) --no-print-directory build
	@scripts/bench.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan
