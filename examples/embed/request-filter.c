/*
** request-filter.c -- a small host embedding lplug: an HTTP request filter.
**
** Reads one JSON request per line on standard input
**   {"method": "GET", "path": "/", "ip": "10.0.0.7",
**    "headers": {"user-agent": "curl/8.0"}}
** runs the hook point `request` of the plugins under PLUGINS over it and
** prints "allowed METHOD PATH" or "blocked METHOD PATH: reason" (a plugin
** blocks a request by setting its field `blocked` to the reason).  The
** events rate-limit emits are printed as they are delivered, and a line
** of counters per plugin ends the output.
**
** The hook point is fail-closed: a request whose handler failed is
** blocked, never let through unchecked.
**
** Build against an installed lplug:
**   cc -o request-filter request-filter.c $(pkg-config --cflags --libs lplug)
** Run:
**   ./request-filter plugins 3 < requests.jsonl
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lplug.h>

#define LINE_MAX_BYTES 8192

/* Plugin failures: who failed, where and why, on stderr. */
static void on_error(void *ud, const char *plugin, int code,
                     const char *message, const char *traceback) {
  (void)ud; (void)traceback;
  fprintf(stderr, "request-filter: plugin %s failed (%s): %s\n", plugin,
          lplug_errname(code), message);
}

/* ratelimit.* events, printed as they are delivered: {ip = ..., max = n}. */
static void on_event(void *ud, const char *topic, const lplug_value *payload,
                     const char *source) {
  size_t at;
  const char *ip = NULL;
  long long max = 0;
  (void)ud;
  if (lplug_value_field(payload, 0, "ip", &at))
    ip = lplug_value_string(payload, at, NULL);
  if (lplug_value_field(payload, 0, "max", &at))
    max = lplug_value_integer(payload, at, NULL);
  printf("event %s from %s: %s passed %lld requests\n", topic,
         source ? source : "the host", ip ? ip : "?", max);
}

/* Sets rate-limit's `max` before it loads: a table {max = max}. */
static int configure_rate_limit(lplug_engine *e, long long max) {
  lplug_builder *b = lplug_builder_new();
  lplug_value *values = lplug_value_new();
  int rc = LPLUG_ENOMEM;
  if (b != NULL && values != NULL) {
    lplug_build_table(b);
    lplug_build_string(b, "max", 3);
    lplug_build_integer(b, max);
    lplug_build_end(b);
    rc = lplug_builder_finish(b, values);
    if (rc == LPLUG_OK) rc = lplug_plugin_configure(e, "rate-limit", values);
  }
  lplug_value_free(values);
  lplug_builder_free(b);
  return rc;
}

/* Prints the verdict on one request, read from the value the hook left. */
static void print_verdict(const lplug_value *req, int rc) {
  size_t at;
  const char *method = "?", *path = "?", *reason = NULL;
  if (lplug_value_field(req, 0, "method", &at))
    method = lplug_value_string(req, at, NULL);
  if (lplug_value_field(req, 0, "path", &at))
    path = lplug_value_string(req, at, NULL);
  if (lplug_value_field(req, 0, "blocked", &at))
    reason = lplug_value_string(req, at, NULL);
  if (method == NULL) method = "?";
  if (path == NULL) path = "?";
  if (rc != LPLUG_OK)     /* fail-closed: a failed check blocks */
    printf("blocked %s %s: a filter failed (%s)\n", method, path,
           lplug_errname(rc));
  else if (reason != NULL)
    printf("blocked %s %s: %s\n", method, path, reason);
  else
    printf("allowed %s %s\n", method, path);
}

static int filter(lplug_engine *e, FILE *in) {
  char line[LINE_MAX_BYTES];
  long n = 0;
  while (fgets(line, sizeof line, in) != NULL) {
    lplug_value *req;
    size_t len = strlen(line);
    n++;
    if (len > 0 && line[len - 1] != '\n' && !feof(in)) {
      fprintf(stderr, "request-filter: line %ld: longer than %d bytes\n", n,
              LINE_MAX_BYTES - 2);
      return 1;
    }
    if (lplug_value_from_json(e, line, len, &req) != LPLUG_OK) {
      fprintf(stderr, "request-filter: line %ld: %s\n", n, lplug_errmsg(e));
      continue;
    }
    print_verdict(req, lplug_hook_run(e, "request", req));
    lplug_value_free(req);
    lplug_dispatch(e, 0);   /* events this request caused, after it */
  }
  return 0;
}

static void print_stats(lplug_engine *e) {
  int i;
  for (i = 0; i < lplug_plugin_count(e); i++) {
    const char *name = lplug_plugin_name(e, i);
    lplug_stats st;
    if (lplug_plugin_stats(e, name, &st) == LPLUG_OK)
      printf("%s: %llu calls, %llu errors\n", name, st.calls, st.errors);
  }
}

int main(int argc, char **argv) {
  lplug_config config = {0};   /* zero: the default limits */
  lplug_engine *e;
  int status;
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: request-filter PLUGINS [MAX-PER-ADDRESS]\n");
    return 2;
  }
  config.on_error = on_error;
  config.grant = lplug_grant_declared;   /* the operator chose PLUGINS */
  e = lplug_engine_new(&config);
  if (e == NULL) {
    fprintf(stderr, "request-filter: out of memory\n");
    return 1;
  }
  if (lplug_hook_define(e, "request", LPLUG_HOOK_FAIL_CLOSED, NULL) != LPLUG_OK ||
      configure_rate_limit(e, argc > 2 ? atoll(argv[2]) : 100) != LPLUG_OK ||
      lplug_event_subscribe(e, "ratelimit.*", on_event, NULL) < 0) {
    fprintf(stderr, "request-filter: %s\n", lplug_errmsg(e));
    lplug_engine_free(e);
    return 1;
  }
  /* A plugin that fails to load is reported to on_error; the others run. */
  lplug_load_dir(e, argv[1]);
  status = filter(e, stdin);
  print_stats(e);
  lplug_engine_free(e);
  return status;
}
