# lplug -- a sandboxed Lua 5.4 plugin engine.
#
#   make run     install missing deps, build, run lplug over plugins/ with
#                data/sample.log and a generated 100k-line access log
#   make test    install missing deps, build, run every test
#   make asan    the whole suite under AddressSanitizer + UBSan
#   make valgrind  the unit tests under valgrind memcheck (no leak allowed)
#   make all     build liblplug.a, liblplug.so and the lplug command
#   make install   install library, header, lplug.pc, lplug and lplug(1)
#                  under PREFIX (/usr/local), staged under DESTDIR if set;
#                  installs only the packages needed to build them
#   make uninstall remove what make install installed
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
             $(shell pkg-config --cflags $(PKGS)) $(if $(LUA_INCDIR),-I$(LUA_INCDIR)) \
             $(CFLAGS)
LIBS     = $(shell pkg-config --libs $(PKGS)) -lm -pthread
TESTLIBS = $(shell pkg-config --libs cmocka)
SOVER    = 0
VERSION  = $(shell awk '/^\#define LPLUG_VERSION_(MAJOR|MINOR|PATCH) /{v = v s $$3; s = "."} \
             END {print v}' include/lplug.h)
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
LIBDIR   = $(PREFIX)/lib
INCDIR   = $(PREFIX)/include
MANDIR   = $(PREFIX)/share/man

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

LUA_SRC     = $(wildcard stdlib/*.lua)   # Lua helpers, compiled in

LIB_OBJ  = $(patsubst %.c,$(BUILD)/obj/%.o,$(ENGINE_SRC) $(SANDBOX_SRC) $(STDLIB_SRC)) \
           $(patsubst stdlib/%.lua,$(BUILD)/obj/gen/%_lua.o,$(LUA_SRC))
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
SHARED = $(BUILD)/liblplug.so.$(VERSION)
LPLUG  = $(BUILD)/lplug
BENCH  = $(BUILD)/bench/bench

# ---- public targets -------------------------------------------------------------
.PHONY: all run test asan valgrind bench bench-ir fuzz tsan soak deps build \
        check fuzz-run tsan-run clean install uninstall install-files rock \
        rock-install
all: deps
	@$(MAKE) --no-print-directory build

run: deps
	@$(MAKE) --no-print-directory build $(BUILD)/access.log
	$(LPLUG) run --plugins plugins data/sample.log
	@echo
	@echo "== $(BUILD)/access.log ($$(wc -l <$(BUILD)/access.log) lines) through plugins/ =="
	$(LPLUG) run --stats --storage $(BUILD)/run.db --plugins plugins \
	  $(BUILD)/access.log >$(BUILD)/run.out
	@echo "== output: $$(wc -l <$(BUILD)/run.out) lines in $(BUILD)/run.out, the first 3: =="
	@head -n 3 $(BUILD)/run.out
	@echo "== masked: $$(grep -c '<email>' $(BUILD)/run.out) e-mails," \
	  "$$(grep -c '<card>' $(BUILD)/run.out) card numbers;" \
	  "counts kept in $(BUILD)/run.db (run again: they add up) =="

test: deps
	@$(MAKE) --no-print-directory check

asan: deps
	@$(MAKE) --no-print-directory check BUILD=build/asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# --fair-sched: valgrind runs one thread at a time, and the deadline
# watchdog must get its turn while a plugin's loop spins.
# LPLUG_VALGRIND: the plugin allocator tells memcheck which of its
# arena's blocks are free.
valgrind: deps
	@scripts/install-deps valgrind
	@$(MAKE) --no-print-directory check BUILD=build/valgrind \
	  OPT="-O1 -g -DLPLUG_VALGRIND" \
	  RUNNER="valgrind -q --error-exitcode=99 --leak-check=full --fair-sched=yes \
	  --child-silent-after-fork=yes \
	  --errors-for-leak-kinds=definite,indirect"

bench: deps
	@$(MAKE) --no-print-directory $(BENCH)
	$(BENCH) --tsv bench/results.tsv

bench-ir: deps
	@scripts/install-deps valgrind
	@$(MAKE) --no-print-directory $(BENCH)
	$(BENCH) --ir --tsv bench/results-ir.tsv

# Only what building needs: a user installing under $HOME may lack the
# test tools and the right to install them.
install:
	@scripts/install-deps --build
	@$(MAKE) --no-print-directory install-files

# Each installed name is listed once, here, so uninstall removes exactly them.
INSTALLED = $(BINDIR)/lplug $(INCDIR)/lplug.h $(LIBDIR)/liblplug.a \
            $(LIBDIR)/liblplug.so.$(VERSION) $(LIBDIR)/liblplug.so.$(SOVER) \
            $(LIBDIR)/liblplug.so $(LIBDIR)/pkgconfig/lplug.pc \
            $(MANDIR)/man1/lplug.1
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

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
# rock, rock-install: run by `luarocks make` (lplug-scm-1.rockspec).  The
# module links the engine in; Lua comes from the host interpreter.
ROCK = $(BUILD)/rock/lplug.so
rock: $(ROCK)
rock-install: $(ROCK)
	install -d $(INST_LIBDIR)
	install -m 755 $(ROCK) $(INST_LIBDIR)/lplug.so
$(ROCK): $(BUILD)/obj/bindings/lua/lplug_lua.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -shared -o $@ $^ $(shell pkg-config --libs yaml-0.1 sqlite3) -lm -pthread

build: $(STATIC) $(SHARED) $(LPLUG)

# Tests that compile C (docs, examples) get the same compiler and flags.
check: build $(TESTS) $(BENCH) $(REPLAYS) $(SOAK)
	@BUILD=$(BUILD) RUNNER='$(RUNNER)' LPLUG_CC='$(CC)' LPLUG_SAN='$(SAN)' \
	  LPLUG_CFLAGS='$(CFLAGS_ALL)' LPLUG_LIBS='$(STATIC) $(LIBS)' tests/run

# lplug.pc is written at install time: its prefix is PREFIX, never DESTDIR.
install-files: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCDIR) \
	  $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(LPLUG) $(DESTDIR)$(BINDIR)/lplug
	install -m 644 include/lplug.h $(DESTDIR)$(INCDIR)/lplug.h
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/liblplug.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/liblplug.so.$(VERSION)
	ln -sf liblplug.so.$(VERSION) $(DESTDIR)$(LIBDIR)/liblplug.so.$(SOVER)
	ln -sf liblplug.so.$(SOVER) $(DESTDIR)$(LIBDIR)/liblplug.so
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' lplug.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/lplug.pc
	install -m 644 docs/lplug.1 $(DESTDIR)$(MANDIR)/man1/lplug.1

tsan-run: $(patsubst %,$(BUILD)/tests/%,$(TSAN_TESTS))
	@for t in $^; do TSAN_OPTIONS="halt_on_error=1 $$TSAN_OPTIONS" $$t || exit 1; done

fuzz-run: $(FUZZERS)
	tests/fuzz/run $(BUILD) $(FUZZ_SECONDS) $(or $(FUZZ_TARGETS),$(FUZZ_NAMES))

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# liblplug.so -> liblplug.so.0 (the soname) -> liblplug.so.0.1.0
$(SHARED): $(LIB_OBJ)
	$(CC) $(SAN) -shared -Wl,-soname,liblplug.so.$(SOVER) -o $@ $^ $(LIBS)
	ln -sf liblplug.so.$(VERSION) $(BUILD)/liblplug.so.$(SOVER)
	ln -sf liblplug.so.$(SOVER) $(BUILD)/liblplug.so

$(LPLUG): $(CLI_OBJ) $(STATIC)
	$(CC) $(SAN) -o $@ $(CLI_OBJ) $(STATIC) $(LIBS)

$(BENCH): $(BENCH_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $(BENCH_OBJ) $(STATIC) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TESTUTIL) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $< $(TESTUTIL) $(STATIC) $(LIBS) $(TESTLIBS)

# A realistic access log, the same on every build (no download).
$(BUILD)/access.log: scripts/gen-access-log
	@mkdir -p $(dir $@)
	scripts/gen-access-log 100000 >$@

$(BUILD)/gen/%_lua.c: stdlib/%.lua scripts/embed-lua
	@mkdir -p $(dir $@)
	scripts/embed-lua $*_lua $< >$@

$(BUILD)/obj/gen/%_lua.o: $(BUILD)/gen/%_lua.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

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
