/*
** semver.h -- semantic versions (semver.org 2.0) and version ranges.
**
** A version is MAJOR.MINOR.PATCH[-pre][+build]; precedence follows
** semver 2.0 (build metadata ignored).  A range is a conjunction of
** comparators separated by spaces, each an operator and a version that
** may be partial ("1", "1.2"); an operator may stand apart from its
** version (">= 1.2 < 2"):
**
**   >=1.2    at least 1.2.0           <2      below 2.0.0
**   >1.2     above every 1.2.x        <=1.2   up to every 1.2.x
**   1.2.3    exactly 1.2.3 (also =)   1.2     any 1.2.x (1: any 1.x.y)
**   ^1.4     >=1.4.0 <2.0.0           ^0.3    >=0.3.0 <0.4.0
**   ^0.0.3   >=0.0.3 <0.0.4           ~1.4    >=1.4.0 <1.5.0
**   *        any version (also the empty range)
**
** Pre-releases (the npm rule): a version with a pre-release tag
** satisfies a range only if, besides every comparator, some comparator
** names a pre-release of the same MAJOR.MINOR.PATCH.  So ">=1.2.0-beta"
** takes 1.2.0-rc.1 but not 1.3.0-alpha, and "^1.4" takes no pre-release
** at all: asking for a pre-release must be explicit.
**
** No allocation: a parsed version points into the text it was read from
** (its pre-release tag), which must outlive it.
*/
#ifndef LPLUG_SEMVER_H
#define LPLUG_SEMVER_H

#include <stddef.h>

/* Numbers past this are refused (so that "1.2" + 1 cannot overflow). */
#define SEMVER_MAX_NUMBER 999999999999ULL
/* Comparators in one range after ^ and ~ expand into two each. */
#define SEMVER_MAX_COMPARATORS 8

typedef struct semver {
  unsigned long long major, minor, patch;
  const char *pre;            /* pre-release tag without '-', or NULL */
  size_t prelen;
} semver;

enum semver_op { SEMVER_EQ, SEMVER_LT, SEMVER_LE, SEMVER_GT, SEMVER_GE };

typedef struct semver_comparator {
  int op;                     /* SEMVER_* */
  semver v;
} semver_comparator;

typedef struct semver_range {
  semver_comparator c[SEMVER_MAX_COMPARATORS];
  int n;                      /* 0: any version */
} semver_range;

/* Reads a whole version (all three numbers).  Returns 1, or 0 when `s`
** is not a semantic version. */
int semver_parse(const char *s, semver *out);

/* <0, 0 or >0 as a has lower, equal or higher precedence than b. */
int semver_compare(const semver *a, const semver *b);

/* Reads a range.  Returns 1, or 0 with one line in err saying what is
** wrong ("'1.x': not a version (expected ...)"). */
int semver_range_parse(const char *s, semver_range *out, char *err,
                       size_t errsize);

/* Whether v satisfies r (with the pre-release rule above). */
int semver_satisfies(const semver_range *r, const semver *v);

#endif
