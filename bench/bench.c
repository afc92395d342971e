/*
** bench.c -- the benchmark driver: times each case's two sides in the same
** run, or counts their instructions under callgrind, and prints one table
** (case, unit, lplug, baseline, ratio, target, met), also written as TSV.
**
**   bench [--quick] [--only a,b] [--tsv FILE]      timed table (make bench)
**   bench --ir [--only a,b] [--tsv FILE]           callgrind table (bench-ir)
**   bench --case NAME --side lplug|baseline --iterations N
**                                                  one side, for callgrind
**   bench --list             name, pair or self (measures itself), title
**
** Timing: each side is calibrated to rounds of about ROUND_SECONDS, then
** ROUNDS rounds alternate between the sides and the fastest round of each
** counts (noise on a shared machine only ever adds time).  Instruction
** counts: each side runs under callgrind, collecting only inside
** bench_measured, with N1 and 3 * N1 iterations; (Ir(3 N1) - Ir(N1)) /
** (2 N1) cancels setup and first-call costs and leaves Ir per iteration.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define ROUNDS 7
#define ROUND_SECONDS 0.03
#define MAX_ROWS 64

int bench_quick;
long bench_planned;

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The only code callgrind counts (--toggle-collect): kept out of line. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void bench_measured(const side *s, void *ctx, long n);
void bench_measured(const side *s, void *ctx, long n) { s->run(ctx, n); }

/* ---- rows ------------------------------------------------------------- */

typedef struct row {
  char name[32], unit[16], target[32];
  double lplug, baseline, ratio;
  const char *met;
} row;

static row rows[MAX_ROWS];
static int nrows;
static int ir_mode;

static const char *figure(double v, char *buf, size_t n) {
  if (ir_mode || v >= 1000) snprintf(buf, n, "%.0f", v);
  else if (v >= 100) snprintf(buf, n, "%.1f", v);
  else snprintf(buf, n, "%.2f", v);
  return buf;
}

static void print_header(void) {
  printf("%-17s %-9s %11s %11s %8s  %-17s %s\n", "case", "unit", "lplug",
         "baseline", "ratio", "target", "met");
}

static int is_throughput(int kind) {
  return kind == TARGET_RATIO_MIN || kind == TARGET_REFERENCE_MIN;
}

void bench_row(const char *name, const char *unit, double lplug,
               double baseline, int kind, double target,
               const char *target_text) {
  row *r;
  char a[32], b[32];
  if (nrows == MAX_ROWS) bench_die("too many rows");
  r = &rows[nrows++];
  snprintf(r->name, sizeof r->name, "%s", name);
  snprintf(r->unit, sizeof r->unit, "%s", unit);
  snprintf(r->target, sizeof r->target, "%s", target_text);
  r->lplug = lplug;
  r->baseline = baseline;
  r->ratio = baseline > 0 ? lplug / baseline : 0;
  if (is_throughput(kind) && ir_mode)  /* Ir per set: less is more */
    r->ratio = lplug > 0 ? baseline / lplug : 0;
  switch (kind) {
    case TARGET_RATIO_MAX: r->met = r->ratio <= target ? "yes" : "no"; break;
    case TARGET_RATIO_MIN: r->met = r->ratio >= target ? "yes" : "no"; break;
    case TARGET_ABS_MAX:
      r->met = ir_mode ? "n/a" : lplug <= target ? "yes" : "no";
      break;
    default: r->met = "n/a";
  }
  printf("%-17s %-9s %11s %11s %7.2fx  %-17s %s\n", r->name, r->unit,
         figure(lplug, a, sizeof a), figure(baseline, b, sizeof b), r->ratio,
         r->target, r->met);
  fflush(stdout);
}

static void write_tsv(const char *path) {
  FILE *f = fopen(path, "w");
  int i;
  if (f == NULL) bench_die("cannot write %s", path);
  fprintf(f, "case\tunit\tlplug\tbaseline\tratio\ttarget\tmet\n");
  for (i = 0; i < nrows; i++)
    fprintf(f, "%s\t%s\t%.10g\t%.10g\t%.4f\t%s\t%s\n", rows[i].name,
            rows[i].unit, rows[i].lplug, rows[i].baseline, rows[i].ratio,
            rows[i].target, rows[i].met);
  if (fclose(f) != 0) bench_die("cannot write %s", path);
}

/* ---- timing ------------------------------------------------------------ */

static double time_run(const side *s, void *ctx, long n) {
  double t0 = bench_now();
  bench_measured(s, ctx, n);
  return bench_now() - t0;
}

/* Iterations for a round of about ROUND_SECONDS; the trial run warms the
** caches and the state (first calls grow stacks and tables). */
static long calibrate(const side *s, void *ctx, long hint) {
  long n = hint / 10 > 0 ? hint / 10 : 1;
  double per = time_run(s, ctx, n) / (double)n;
  double want = per > 0 ? ROUND_SECONDS / per : (double)hint;
  if (bench_quick) return 1;
  return want < 1 ? 1 : want > 1e9 ? 1000000000L : (long)want;
}

static void measure_timed(const bcase *c) {
  void *lctx = c->lplug.setup(c), *bctx = c->baseline.setup(c);
  long ln = calibrate(&c->lplug, lctx, c->iterations);
  long bn = calibrate(&c->baseline, bctx, c->iterations);
  double lbest = 1e30, bbest = 1e30;
  int r, rounds = bench_quick ? 1 : ROUNDS;
  for (r = 0; r < rounds; r++) {
    double lt, bt;
    if (r % 2 == 0) {
      lt = time_run(&c->lplug, lctx, ln);
      bt = time_run(&c->baseline, bctx, bn);
    } else {
      bt = time_run(&c->baseline, bctx, bn);
      lt = time_run(&c->lplug, lctx, ln);
    }
    if (lt / (double)ln < lbest) lbest = lt / (double)ln;
    if (bt / (double)bn < bbest) bbest = bt / (double)bn;
  }
  c->lplug.teardown(lctx);
  c->baseline.teardown(bctx);
  if (is_throughput(c->kind))  /* per second */
    bench_row(c->name, c->unit, c->per_second / lbest,
              c->per_second / bbest, c->kind, c->target, c->target_text);
  else
    bench_row(c->name, c->unit, lbest * c->per_second,
              bbest * c->per_second, c->kind, c->target, c->target_text);
}

/* ---- instruction counts --------------------------------------------- */

const char *bench_self;

/* Ir collected inside bench_measured for one side run n times. */
static double callgrind(const bcase *c, const char *sidename, long n) {
  char out[4200], arg[4300], iters[32], line[256];
  double ir = -1;
  int status;
  FILE *f;
  pid_t pid;
  snprintf(out, sizeof out, "%s/callgrind.out", fixture_root());
  snprintf(arg, sizeof arg, "--callgrind-out-file=%s", out);
  snprintf(iters, sizeof iters, "%ld", n);
  fflush(stdout);
  pid = fork();
  if (pid < 0) bench_die("cannot fork");
  if (pid == 0) {
    const char *argv[] = {"valgrind", "-q", "--tool=callgrind", arg,
                          "--collect-atstart=no",
                          "--toggle-collect=bench_measured", bench_self, "--case",
                          c->name, "--side", sidename, "--iterations", iters,
                          bench_quick ? "--quick" : NULL, NULL};
    execvp("valgrind", (char *const *)argv);
    fprintf(stderr, "bench: cannot run valgrind (scripts/install-deps "
            "valgrind installs it)\n");
    _exit(127);
  }
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    bench_die("%s --case %s --side %s under callgrind failed", bench_self, c->name,
              sidename);
  if ((f = fopen(out, "r")) == NULL) bench_die("no callgrind output");
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "totals: %lf", &ir) == 1 ||
        sscanf(line, "summary: %lf", &ir) == 1)
      break;
  fclose(f);
  remove(out);
  if (ir < 0) bench_die("no totals in callgrind output");
  return ir;
}

static double ir_per_iteration(const bcase *c, const char *sidename) {
  long n1 = c->ir_iterations;
  return (callgrind(c, sidename, 3 * n1) - callgrind(c, sidename, n1)) /
         (double)(2 * n1);
}

static void measure_ir(const bcase *c) {
  char unit[16];
  const char *slash = strchr(c->unit, '/');
  double l = ir_per_iteration(c, "lplug");
  double b = ir_per_iteration(c, "baseline");
  if (is_throughput(c->kind))  /* "sets/s": Ir per set */
    snprintf(unit, sizeof unit, "Ir/%.*s", (int)(slash ? slash - c->unit - 1
             : 0), c->unit);
  else
    snprintf(unit, sizeof unit, "Ir%s", slash ? slash : "");
  bench_row(c->name, unit, l, b, c->kind, c->target, c->target_text);
}

/* ---- main ----------------------------------------------------------------- */

static const bcase *find_case(const char *name) {
  const bcase *c;
  for (c = bench_cases; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  bench_die("no case named '%s' (bench --list shows them)", name);
}

static int selected(const char *only, const char *name) {
  size_t n = strlen(name);
  const char *p = only;
  if (only == NULL) return 1;
  while ((p = strstr(p, name)) != NULL) {
    if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
      return 1;
    p += n;
  }
  return 0;
}

/* --case: one side, n iterations, nothing printed. */
static int run_one(const char *name, const char *sidename, long n) {
  const bcase *c = find_case(name);
  const side *s = strcmp(sidename, "lplug") == 0 ? &c->lplug :
                  strcmp(sidename, "baseline") == 0 ? &c->baseline : NULL;
  void *ctx;
  if (s == NULL) bench_die("--side is lplug or baseline, not '%s'", sidename);
  if (c->measure) bench_die("case '%s' measures itself: no --side", name);
  bench_planned = n;
  ctx = s->setup(c);
  bench_measured(s, ctx, n);
  s->teardown(ctx);
  return 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench [--quick] [--ir] [--only case,...] [--tsv FILE]\n"
          "       bench --case NAME --side lplug|baseline --iterations N\n"
          "       bench --list\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *only = NULL, *tsv = NULL, *one = NULL, *sidename = NULL;
  long iterations = 1;
  const bcase *c;
  int i;
  bench_self = argv[0];
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    int more = i + 1 < argc;
    if (strcmp(a, "--quick") == 0) bench_quick = 1;
    else if (strcmp(a, "--ir") == 0) ir_mode = 1;
    else if (strcmp(a, "--list") == 0) {
      for (c = bench_cases; c->name; c++)
        printf("%s\t%s\t%s\n", c->name, c->measure ? "self" : "pair",
               c->title);
      return 0;
    }
    else if (strcmp(a, "--only") == 0 && more) only = argv[++i];
    else if (strcmp(a, "--load-child") == 0 && i + 2 < argc) {
      long n = strtol(argv[i + 1], NULL, 10);
      return bench_load_child(n, argv[i + 2]);
    }
    else if (strcmp(a, "--tsv") == 0 && more) tsv = argv[++i];
    else if (strcmp(a, "--case") == 0 && more) one = argv[++i];
    else if (strcmp(a, "--side") == 0 && more) sidename = argv[++i];
    else if (strcmp(a, "--iterations") == 0 && more) {
      iterations = strtol(argv[++i], NULL, 10);
      if (iterations < 1) usage();
    }
    else usage();
  }
  if (one) return run_one(one, sidename ? sidename : "lplug", iterations);
  if (ir_mode)
    printf("callgrind instructions per iteration, (Ir(3N) - Ir(N)) / 2N\n");
  else
    printf("fastest of %d rounds, lplug and baseline alternating%s\n",
           bench_quick ? 1 : ROUNDS,
           bench_quick ? " (--quick: smoke-test sizes, not figures)" : "");
  print_header();
  for (c = bench_cases; c->name; c++) {
    if (!selected(only, c->name)) continue;
    if (ir_mode) {
      if (c->measure == NULL) measure_ir(c);
    } else if (c->measure) {
      c->measure(c);
    } else {
      measure_timed(c);
    }
  }
  if (tsv) write_tsv(tsv);
  return 0;
}
