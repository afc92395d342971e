/*
** replay.c -- a main() for a fuzz target without libFuzzer: feeds it each
** file named on the command line, or each file of each folder named, in
** order, and prints "replay: <n> inputs".  `make test` runs it over the
** target's corpus (tests/integration/fuzz-corpus.sh), so a crash found
** once and added to the corpus stays a regression test on every compiler.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

static int inputs;

static void run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  long n;
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    exit(2);
  }
  /* An exact-size copy, so ASan sees a read past the input's end. */
  buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    exit(2);
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t)n);
  free(buf);
  inputs++;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files of a folder in name order: the same order on every machine. */
static void run_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *ent;
  char **names = NULL;
  size_t n = 0, cap = 0, i;
  if (d == NULL) {
    fprintf(stderr, "replay: cannot open %s\n", dir);
    exit(2);
  }
  while ((ent = readdir(d)) != NULL) {
    if (ent->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      names = realloc(names, cap * sizeof *names);
      if (names == NULL) exit(2);
    }
    names[n] = malloc(strlen(dir) + strlen(ent->d_name) + 2);
    if (names[n] == NULL) exit(2);
    sprintf(names[n], "%s/%s", dir, ent->d_name);
    n++;
  }
  closedir(d);
  if (n > 0) qsort(names, n, sizeof *names, by_name);
  for (i = 0; i < n; i++) {
    run_file(names[i]);
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv) {
  int i;
  LLVMFuzzerInitialize(&argc, &argv);
  for (i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) run_dir(argv[i]);
    else run_file(argv[i]);
  }
  printf("replay: %d inputs\n", inputs);
  return 0;
}
