/*
** test.c -- `lplug test`: runs plugins' specs in the test host.
**
** Each spec/NAME_spec.lua of each plugin folder goes to lplug_spec_run,
** which runs it sandboxed with describe/it/assert and lplug.test (see
** docs/plugin-guide.md, "Testing a plugin").  Failures are printed with
** the test's name and the spec's file:line, pending tests with their
** name; the last line is the total, "N passed, N failed", with
** ", N pending" only when there are some (scripts grep the plain line).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lplug.h"
#include "cli/cli.h"

static const char usage[] =
  "usage: lplug test [--instructions N] [--memory SIZE] [-v] [--] DIR...\n"
  "\n"
  "Runs the specs (spec/NAME_spec.lua) of each plugin folder DIR, or of\n"
  "each plugin folder inside DIR, in a sandboxed test host, and prints\n"
  "each failure and a total line 'N passed, N failed'.  A test declared\n"
  "without a function, it(\"name\"), is pending: listed, and counted as\n"
  "', N pending' on the total line, not as a failure.\n"
  "\n"
  "options:\n"
  "  --instructions N  instruction budget of each test (default 100M;\n"
  "                    K, M, G multiply by 1000); a test also stops\n"
  "                    after 1 us per instruction of it, at least 5 s\n"
  "  --memory SIZE     memory budget of the test host (default 64MB;\n"
  "                    KB, MB, GB)\n"
  "  -v, --verbose     print every test, and what specs print\n"
  "  -h, --help        print this help\n"
  "  --                the arguments after it are DIRs\n"
  "\n"
  "exit status: 0 every test passed, 1 a test failed or a spec did not\n"
  "load, 2 bad usage\n"
  "\n"
  "examples:\n"
  "  lplug test plugins/redact\n"
  "  lplug test -v plugins\n";

typedef struct test_state {
  int verbose, colour;
  int passed, failed, pending;  /* pending: counted here, by on_result */
  lplug_spec_options o;
  const char *plugin;
} test_state;

/* Test names, failure messages and what specs print are the spec's
** text: escaped (cli.h), so that a "\n9 passed, 0 failed" in them
** cannot forge a total. */
static void on_result(void *ud, const char *name, int result,
                      const char *message) {
  test_state *ts = ud;
  const char *off = ts->colour ? "\033[0m" : "";
  if (result == LPLUG_SPEC_PASSED) {
    if (ts->verbose) {
      printf("  %sok%s    ", ts->colour ? "\033[32m" : "", off);
      cli_say(stdout, "", name, 0);
    }
  } else if (result == LPLUG_SPEC_PENDING) {
    ts->pending++;  /* listed always: a pending test is a reminder */
    printf("  %sPEND%s  ", ts->colour ? "\033[33m" : "", off);
    cli_say(stdout, "", name, 0);
  } else {
    printf("  %sFAIL%s  ", ts->colour ? "\033[31m" : "", off);
    cli_say(stdout, "", name, 0);
    cli_say(stdout, "        ", message, 0);
  }
}

/* "N passed, N failed", and ", N pending" when there are some; `dir`
** already escaped. */
static void print_total(const char *dir, int passed, int failed,
                        int pending) {
  if (dir != NULL) printf("%s: ", dir);
  printf("%d passed, %d failed", passed, failed);
  if (pending > 0) printf(", %d pending", pending);
  printf("\n");
}

static void on_log(void *ud, int level, const char *who, const char *text) {
  test_state *ts = ud;
  char prefix[96];
  (void)level;
  if (!ts->verbose) return;
  snprintf(prefix, sizeof prefix, "        [%s] ", who ? who : "spec");
  cli_say(stdout, prefix, text, 0);
}

static int test_plugin(void *ud, const char *dir) {
  test_state *ts = ud;
  char specdir[4096], rel[4096], err[2048], shown[4096], path[8200];
  char **names;
  int n, i, status = 0, passed = 0, failed = 0, pending = ts->pending;
  cli_escape(dir, shown, sizeof shown);  /* folder names are the plugins' */
  snprintf(specdir, sizeof specdir, "%s/spec", dir);
  n = cli_list(specdir, "_spec.lua", 0, &names);
  if (n <= 0) {
    cli_names_free(names, n < 0 ? 0 : n);
    printf("%s: no specs (add spec/init_spec.lua; 'lplug new' shows how)\n",
           shown);
    return 0;
  }
  for (i = 0; i < n; i++) {
    int rc;
    snprintf(rel, sizeof rel, "spec/%s", names[i]);
    rc = lplug_spec_run(dir, rel, &ts->o, &passed, &failed, err, sizeof err);
    if (rc != LPLUG_OK) {
      cli_join(path, sizeof path, dir, rel);
      printf("  %sERROR%s ", ts->colour ? "\033[31m" : "",
             ts->colour ? "\033[0m" : "");
      cli_say(stdout, "", path, 0);
      cli_say(stdout, "        ", err, 0);
      failed++;
      status = 1;
    }
  }
  cli_names_free(names, n);
  print_total(shown, passed, failed, ts->pending - pending);
  ts->passed += passed;
  ts->failed += failed;
  return status || failed > 0;
}

int cli_test(int argc, char **argv) {
  test_state ts;
  int i, status = 0, ndirs = 0, names_only = 0;
  memset(&ts, 0, sizeof ts);
  ts.o.on_result = on_result;
  ts.o.on_log = on_log;
  ts.o.ud = &ts;
  ts.colour = cli_colour(stdout);
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      ts.verbose = 1;
    } else if (strcmp(a, "--instructions") == 0) {
      if (++i == argc ||
          !lplug_parse_count(argv[i], &ts.o.instruction_limit)) {
        cli_error("--instructions needs a count such as 50M (try 'lplug "
                  "test --help')");
        return 2;
      }
    } else if (strcmp(a, "--memory") == 0) {
      if (++i == argc || !lplug_parse_size(argv[i], &ts.o.memory_limit) ||
          ts.o.memory_limit == 0) {
        cli_error("--memory needs a size such as 64MB (try 'lplug test "
                  "--help')");
        return 2;
      }
    } else if (strcmp(a, "--") == 0) {  /* the rest are folders */
      ndirs += argc - i - 1;
      break;
    } else if (a[0] == '-' && a[1] != '\0') {
      cli_error("unknown option '%s' (try 'lplug test --help')", a);
      return 2;
    } else {
      ndirs++;
    }
  }
  if (ndirs == 0) {
    cli_error("name the plugin folders to test, e.g. 'lplug test plugins' "
              "(try 'lplug test --help')");
    return 2;
  }
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!names_only && strcmp(a, "--") == 0) {
      names_only = 1;
      continue;
    }
    if (!names_only && a[0] == '-' && a[1] != '\0') {  /* '-' is a name */
      if (strcmp(a, "--instructions") == 0 || strcmp(a, "--memory") == 0) i++;
      continue;
    }
    if (cli_each_plugin(a, test_plugin, &ts) != 0) status = 1;
  }
  fflush(stdout);
  print_total(NULL, ts.passed, ts.failed, ts.pending);
  return status || ts.failed > 0 ? 1 : 0;
}
