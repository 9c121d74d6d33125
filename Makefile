# The two set-up commands of the README:
#   make demo   install what is missing, build (Release), run the main job on the embedded synthetic release
#   make test   install what is missing, build (Release), run the whole test suite through CTest
BUILD ?= build
JOBS ?= $(shell nproc)
SKINTRIAGE_SHARED ?= $(abspath ../shared)
export SKINTRIAGE_SHARED

.PHONY: demo test build deps-build deps-test bench clean

deps-build:
	sh scripts/install-deps.sh build

deps-test:
	sh scripts/install-deps.sh test

TESTS ?= ON
BENCH ?= OFF
build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DSKINTRIAGE_BUILD_TESTS=$(TESTS) -DSKINTRIAGE_BUILD_BENCH=$(BENCH)
	cmake --build $(BUILD) -j $(JOBS)

demo: deps-build
	$(MAKE) build TESTS=OFF
	sh scripts/demo.sh $(BUILD)/skintriage

test: deps-test
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps-test
	$(MAKE) build BENCH=ON
	sh bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)
