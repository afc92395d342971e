/*
** numbers.c -- the sizes and counts options take: "64MB", "50M".
** The same units as manifests: KB/MB/GB are powers of 1024, K/M/G of 1000.
*/
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int scaled(const char *s, unsigned long long *out, int binary) {
  char *end;
  unsigned long long x, k = 1;
  if (s[0] < '0' || s[0] > '9') return 0;
  x = strtoull(s, &end, 10);
  if (*end == 'K' || *end == 'k') k = binary ? 1024ULL : 1000ULL;
  else if (*end == 'M') k = binary ? 1024ULL * 1024 : 1000000ULL;
  else if (*end == 'G') k = binary ? 1024ULL * 1024 * 1024 : 1000000000ULL;
  else if (*end != '\0') return 0;
  if (*end != '\0') end++;
  if (binary && (*end == 'B' || *end == 'b')) end++;
  if (*end != '\0' || x == 0 || x > ~0ULL / k) return 0;
  *out = x * k;
  return 1;
}

int cli_parse_size(const char *s, unsigned long long *out) {
  return scaled(s, out, 1);
}

int cli_parse_count(const char *s, unsigned long long *out) {
  return scaled(s, out, 0);
}
