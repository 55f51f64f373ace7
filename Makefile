# adx build. `make` builds bin/adx; `make check` and `make demo` install what is missing first.
# Sources are found by wildcard: a new file in src/<layer>/ or tests/<layer>/test_*.c needs no edit here.

CC      := mpicc
ARCH    ?= -march=native
# Named targets for building on a login node whose CPU differs from the compute nodes' (docs/cluster.md):
#   ARCH=portable   any x86-64 of the last 15 years (x86-64-v2: SSE4.2, POPCNT)
#   ARCH=x86-64-v3  AVX2 + FMA (Intel Haswell and later, AMD Zen and later)
#   ARCH=x86-64-v4  AVX-512 (Skylake-SP and later, Zen 4)
# Use a build directory per target, e.g. make B=build/v3 ARCH=x86-64-v3. `adx info --build` prints what a
# binary was built for; adx refuses to start on a CPU that lacks it. OpenBLAS picks its kernels at run time.
ifeq ($(ARCH),portable)
  override ARCH := -march=x86-64-v2 -mtune=generic
else ifneq ($(filter x86-64-v2 x86-64-v3 x86-64-v4,$(ARCH)),)
  override ARCH := -march=$(ARCH) -mtune=generic
endif
OPT     ?= -O3
PKGS    := hdf5-openmpi openblas libprotobuf-c inih libpng libjpeg zlib
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS  ?= $(OPT) $(ARCH) -g
BASEFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -fopenmp $(WARN) -Iinclude -I$(GEN) \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldnnl -lm
B       ?= build/release
GEN     := build/gen
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
PY      := /usr/bin/python3

LIB_SRC  := $(filter-out src/cli/%,$(wildcard src/*/*.c))
CLI_SRC  := $(wildcard src/cli/*.c)
LIB_OBJ  := $(patsubst src/%.c,$(B)/obj/%.o,$(LIB_SRC)) $(B)/obj/gen/onnx.pb-c.o
CLI_OBJ  := $(patsubst src/%.c,$(B)/obj/%.o,$(CLI_SRC))
TEST_SRC := $(wildcard tests/*/test_*.c)
TEST_BIN := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRC))
TEST_COMMON := $(wildcard tests/common/*.c)
# one fuzz target per parser (tests/fuzz/fuzz_<name>.c); each also builds as a replay driver for make check
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY   = $(patsubst %,$(B)/fuzz/replay_%,$(FUZZ_TARGETS))

.PHONY: bench-store all deps deps-check check check-unit check-asan check-valgrind check-integration demo bench clean format fixtures fuzz fuzz-build
all: bin/adx

bin/adx: $(B)/adx
	@mkdir -p bin
	cp $< $@.tmp && mv -f $@.tmp $@ # a new inode: runs of the old binary go on undisturbed

$(B)/adx: $(CLI_OBJ) $(B)/libadx.a
	$(CC) $(BASEFLAGS) $(CFLAGS) -o $@ $(CLI_OBJ) -Wl,--whole-archive $(B)/libadx.a -Wl,--no-whole-archive $(LDLIBS)

$(B)/libadx.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# one run of protoc-c makes both files (&: a grouped target: under make -j it runs once, not once per file)
$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h &: $(ONNX_PROTO)
	@mkdir -p $(GEN)
	cp $(ONNX_PROTO) $(GEN)/onnx.proto
	cd $(GEN) && protoc-c --c_out=. onnx.proto

$(B)/obj/gen/onnx.pb-c.o: $(GEN)/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) -fopenmp -I$(GEN) -w -c -o $@ $<

$(B)/obj/%.o: src/%.c $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/tests/%: tests/%.c $(TEST_COMMON) $(B)/libadx.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Itests -o $@ $< $(TEST_COMMON) -Wl,--whole-archive $(B)/libadx.a -Wl,--no-whole-archive $(LDLIBS) -lcmocka

$(B)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_common.h $(B)/libadx.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/replay.c $(B)/libadx.a $(LDLIBS)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# the results store under load (docs/scaling.md): build/release/bench_store FILE IMAGES FLUSH_IMAGES MODES
bench-store: $(B)/bench_store
$(B)/bench_store: scripts/bench_store.c $(B)/libadx.a
	$(CC) $(BASEFLAGS) $(CFLAGS) -o $@ $< $(B)/libadx.a $(LDLIBS)

deps:
	scripts/install-deps.sh

# make check also needs Chromium (test_report_chromium) and Slurm + munge (test_slurm).
deps-check:
	scripts/install-deps.sh --with-report-test --with-slurm

# The builds inside check, check-asan and check-valgrind compile on every core (CI has 2), output grouped per
# target. The unit tests run one after another (each on OMP_NUM_THREADS=2 threads); the valgrind tests
# (single-threaded) and the integration scripts (mostly single-threaded: checks, one-rank runs, waits for a
# kill or a lock) run JOBS at a time (VALGRIND_JOBS, INTEGRATION_JOBS), their results printed in the usual
# order with each one's wall time. INTEGRATION_JOBS=1 runs the scripts one after another again.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD_JOBS = -j$(JOBS) --output-sync=target

# The whole test suite: unit tests, the same under ASan+UBSan, valgrind on the engine tests, integration.
# No skip is a pass here (ADX_CHECK=1, scripts/skips.sh): a test that cannot run its check fails, and only
# the skips listed in tests/allowed-skips.txt are allowed; their count is printed at the end.
check: export ADX_CHECK := 1
# test binaries wait passively at OpenMP barriers, as adx itself does (src/cli/main.c): CI shares 2 cores
check: export OMP_WAIT_POLICY ?= passive
check: export ADX_SKIP_LOG := $(CURDIR)/build/skips.log
check: deps-check
	@mkdir -p build && rm -f build/skips.log
	$(MAKE) $(BUILD_JOBS) all $(TEST_BIN) $(FUZZ_REPLAY)
	$(MAKE) check-unit
	$(MAKE) check-asan
	$(MAKE) check-valgrind
	$(MAKE) check-integration
	@scripts/skips-summary.sh build/skips.log

check-unit: $(TEST_BIN) $(FUZZ_REPLAY) bin/adx
	@scripts/run-tests.sh $(B)/tests
	@scripts/run-fuzz-regress.sh $(B)/fuzz

check-asan:
	$(MAKE) $(BUILD_JOBS) B=build/asan OPT=-O1 CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	  build/asan/adx $(patsubst tests/%.c,build/asan/tests/%,$(TEST_SRC)) $(patsubst %,build/asan/fuzz/replay_%,$(FUZZ_TARGETS))
	@ADX_SANITIZED=1 scripts/run-tests.sh build/asan/tests
	@scripts/run-fuzz-regress.sh build/asan/fuzz
	@INTEGRATION_JOBS=$${INTEGRATION_JOBS:-$(JOBS)} ADX_INTEGRATION_SKIP=test_report_chromium scripts/run-integration-asan.sh

# valgrind cannot run AVX-512 code: its build targets generic x86-64 (OpenBLAS dispatches at run time).
check-valgrind:
	$(MAKE) $(BUILD_JOBS) B=build/valgrind ARCH= OPT=-O1 $(patsubst tests/%.c,build/valgrind/tests/%,$(TEST_SRC))
	@VALGRIND_JOBS=$${VALGRIND_JOBS:-$(JOBS)} scripts/run-valgrind.sh build/valgrind/tests

check-integration: bin/adx
	@INTEGRATION_JOBS=$${INTEGRATION_JOBS:-$(JOBS)} scripts/run-integration.sh

# Fuzzing: clang + libFuzzer with ASan+UBSan (scripts/install-deps.sh --with-fuzz). Every target runs
# FUZZ_SECONDS seconds from its seed corpus; per-target execs and coverage go to build/fuzz/summary.txt.
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FUZZ_CC ?= clang
MPI_CFLAGS = $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS = $(shell mpicc --showme:link 2>/dev/null)
fuzz: fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) scripts/run-fuzz.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build:
	$(MAKE) B=build/fuzz CC=$(FUZZ_CC) ARCH= \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all $(MPI_CFLAGS)" \
	  LDLIBS="$(LDLIBS) $(MPI_LIBS)" $(patsubst %,build/fuzz/fuzz/fuzz_%,$(FUZZ_TARGETS))

build/fuzz/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h build/fuzz/libadx.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< build/fuzz/libadx.a $(LDLIBS)

demo: deps
	$(MAKE) all
	scripts/demo.sh

bench: all
	scripts/bench.sh

fixtures:
	$(PY) scripts/make_fixtures.py
	$(PY) scripts/make_fill_reference.py

format:
	clang-format -i $$(find src include tests -name '*.[ch]')

clean:
	rm -rf build bin
