/*
** fuzz.h -- the entry points every fuzz target defines.
**
** A target is one file tests/fuzz/fuzz_<name>.c.  It is linked twice:
** with libFuzzer (clang -fsanitize=fuzzer, `make fuzz`), which calls
** these functions with generated inputs, and with replay.c (any C
** compiler, `make test`), which calls them with each file of the target's
** corpus so the targets build and their regressions run everywhere.
**
** A target reports a broken property with fuzz_fail, which aborts: a
** crash is what libFuzzer keeps and what replay reports.
*/
#ifndef LPLUG_FUZZ_H
#define LPLUG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Called once before the first input; may be left empty. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Runs one input; returns 0 (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz: <what>" on stderr and aborts. */
void fuzz_fail(const char *what);

#endif
