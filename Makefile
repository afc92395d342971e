# lplug -- a sandboxed Lua 5.4 plugin engine.
#
#   make run     install missing deps, build, run lplug over plugins/ and data/
#   make test    install missing deps, build, run every test
#   make asan    the whole suite under AddressSanitizer + UBSan
#   make valgrind  the unit tests under valgrind memcheck (no leak allowed)
#   make all     build liblplug.a, liblplug.so and the lplug command
#   make bench   time each case against raw Lua in the same run; writes
#                bench/results.tsv
#   make bench-ir  the same cases as callgrind instruction counts
#   make fuzz    each libFuzzer target (tests/fuzz/) for FUZZ_SECONDS (10);
#                FUZZ_TARGETS="json value" runs only those
#   make tsan    the concurrent tests (several engines, threads) under TSan
#   make soak    many plugins, reloads, failures and limits for SOAK_SECONDS
#                (60); asserts flat RSS and counters that add up
#
# The public targets install dependencies first and then run this Makefile
# again, so that pkg-config sees the freshly installed packages.

# ---- settings ---------------------------------------------------------------
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
WARN     = -Wall -Wextra -Wpedantic -Werror -Wshadow -Wmissing-prototypes \
           -Wstrict-prototypes -Wno-unused-parameter
STD      = -std=c11 -D_XOPEN_SOURCE=700
PKGS     = lua5.4 yaml-0.1 sqlite3
CFLAGS_ALL = $(STD) $(WARN) $(OPT) $(SAN) -fPIC -pthread -Iinclude -I. \
             $(shell pkg-config --cflags $(PKGS)) $(CFLAGS)
LIBS     = $(shell pkg-config --libs $(PKGS)) -lm -pthread
TESTLIBS = $(shell pkg-config --libs cmocka)
SOVER    = 0
FUZZ_SECONDS ?= 10
SOAK_SECONDS ?= 60
# clang and its sanitizer runtimes (libFuzzer): the Debian names of the
# release we build on; override for another release.
FUZZ_PKGS ?= clang libclang-rt-14-dev

# ---- sources, one list per layer ----------------------------------------------
ENGINE_SRC  = $(wildcard engine/*.c)
SANDBOX_SRC = $(wildcard sandbox/*.c)
STDLIB_SRC  = $(wildcard stdlib/*.c)
CLI_SRC     = $(wildcard cli/*.c)
BENCH_SRC   = $(wildcard bench/*.c)
TEST_SRC    = $(wildcard tests/unit/test_*.c)
FUZZ_SRC    = $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJ  = $(patsubst %.c,$(BUILD)/obj/%.o,$(ENGINE_SRC) $(SANDBOX_SRC) $(STDLIB_SRC))
CLI_OBJ  = $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC))
BENCH_OBJ = $(patsubst %.c,$(BUILD)/obj/%.o,$(BENCH_SRC))
TESTS    = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TESTUTIL = $(BUILD)/obj/tests/unit/support.o
FUZZ_NAMES = $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
REPLAYS  = $(patsubst %,$(BUILD)/fuzz/replay-%,$(FUZZ_NAMES))
FUZZERS  = $(patsubst %,$(BUILD)/fuzz/fuzz-%,$(FUZZ_NAMES))
FUZZUTIL = $(BUILD)/obj/tests/fuzz/support.o
SOAK     = $(BUILD)/soak

STATIC = $(BUILD)/liblplug.a
SHARED = $(BUILD)/liblplug.so
LPLUG  = $(BUILD)/lplug
BENCH  = $(BUILD)/bench/bench

# ---- public targets -------------------------------------------------------------
.PHONY: all run test asan valgrind bench bench-ir fuzz tsan soak deps build \
        check fuzz-run tsan-run clean
all: deps
	@$(MAKE) --no-print-directory build

run: deps
	@$(MAKE) --no-print-directory build
	$(LPLUG) run -v --storage $(BUILD)/run.db --plugins plugins data/sample.log

test: deps
	@$(MAKE) --no-print-directory check

asan: deps
	@$(MAKE) --no-print-directory check BUILD=build/asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

valgrind: deps
	@scripts/install-deps valgrind
	@$(MAKE) --no-print-directory check BUILD=build/valgrind OPT="-O1 -g" \
	  RUNNER="valgrind -q --error-exitcode=99 --leak-check=full --child-silent-after-fork=yes \
	  --errors-for-leak-kinds=definite,indirect"

bench: deps
	@$(MAKE) --no-print-directory $(BENCH)
	$(BENCH) --tsv bench/results.tsv

bench-ir: deps
	@scripts/install-deps valgrind
	@$(MAKE) --no-print-directory $(BENCH)
	$(BENCH) --ir --tsv bench/results-ir.tsv

# libFuzzer needs clang; the library is built again with ASan + UBSan
# and coverage instrumentation into build/fuzz.
fuzz: deps
	@scripts/install-deps $(FUZZ_PKGS)
	@$(MAKE) --no-print-directory fuzz-run BUILD=build/fuzz CC=clang \
	  OPT="-O1 -g" SAN="-fsanitize=address,undefined,fuzzer-no-link \
	  -fno-sanitize-recover=all -fno-omit-frame-pointer"

# gcc's ThreadSanitizer over the tests that run engines on several
# threads.  Not the whole suite: TSan delivers a signal only when the
# thread enters its runtime, so test_deadline's loops that never allocate
# would never see the watchdog's signal (see tests/unit/test_threads.c).
TSAN_TESTS ?= test_threads test_chunkcache
tsan: deps
	@scripts/install-deps libtsan2
	@$(MAKE) --no-print-directory tsan-run BUILD=build/tsan OPT="-O1 -g" \
	  SAN="-fsanitize=thread"

soak: deps
	@$(MAKE) --no-print-directory $(SOAK)
	$(SOAK) --seconds $(SOAK_SECONDS)

deps:
	@scripts/install-deps

clean:
	rm -rf build

# ---- internal targets (run after deps) ------------------------------------------
build: $(STATIC) $(SHARED) $(LPLUG)

check: build $(TESTS) $(BENCH) $(REPLAYS) $(SOAK)
	@BUILD=$(BUILD) RUNNER='$(RUNNER)' tests/run

tsan-run: $(patsubst %,$(BUILD)/tests/%,$(TSAN_TESTS))
	@for t in $^; do TSAN_OPTIONS="halt_on_error=1 $$TSAN_OPTIONS" $$t || exit 1; done

fuzz-run: $(FUZZERS)
	tests/fuzz/run $(BUILD) $(FUZZ_SECONDS) $(or $(FUZZ_TARGETS),$(FUZZ_NAMES))

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) $(SAN) -shared -Wl,-soname,liblplug.so.$(SOVER) -o $@ $^ $(LIBS)

$(LPLUG): $(CLI_OBJ) $(STATIC)
	$(CC) $(SAN) -o $@ $(CLI_OBJ) $(STATIC) $(LIBS)

$(BENCH): $(BENCH_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $(BENCH_OBJ) $(STATIC) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TESTUTIL) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $< $(TESTUTIL) $(STATIC) $(LIBS) $(TESTLIBS)

# A fuzz target with replay.c's main (any compiler) or with libFuzzer's.
$(BUILD)/fuzz/replay-%: $(BUILD)/obj/tests/fuzz/fuzz_%.o \
                        $(BUILD)/obj/tests/fuzz/replay.o $(FUZZUTIL) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/fuzz/fuzz-%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZUTIL) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

$(SOAK): $(BUILD)/obj/tests/soak/soak.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
