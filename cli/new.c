/*
** new.c -- `lplug new NAME`: scaffolds a plugin folder that passes
** `lplug check` and `lplug test` as it is made, for the author to change.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lplug.h"
#include "cli/cli.h"

static const char usage[] =
  "usage: lplug new [--dir DIR] [--] NAME\n"
  "\n"
  "Makes plugin folder DIR/NAME (DIR defaults to the current folder) with\n"
  "plugin.yaml, init.lua, spec/init_spec.lua and README.md: a plugin that\n"
  "tags each record, with its tests.  Change it from there.\n"
  "\n"
  "NAME is a lower-case letter, then lower-case letters, digits, '-' or\n"
  "'_' (at most 64).\n"
  "\n"
  "options:\n"
  "  --dir DIR    where to make the folder (made if absent; once)\n"
  "  -h, --help   print this help\n"
  "\n"
  "exit status: 0 made, 1 the folder exists or cannot be written, 2 bad\n"
  "usage\n"
  "\n"
  "examples:\n"
  "  lplug new tagger --dir plugins\n"
  "  lplug check plugins/tagger && lplug test plugins/tagger\n";

/* Each file, with @ standing for the plugin's name.  In YAML it is
** quoted: a plugin named null, true or false is a string. */
static const char manifest[] =
  "# @: tags each record with a label (change this line to say what\n"
  "# your plugin does).  Reference: docs/plugin-guide.md.\n"
  "name: \"@\"\n"
  "version: 0.1.0\n"
  "description: Adds a field `tag` to every record.\n"
  "license: MIT\n"
  "\n"
  "# What the plugin may use.  The host grants these or refuses them;\n"
  "# `lplug check` reports code that uses a module not listed here.\n"
  "capabilities:\n"
  "  hooks: [record]          # hook points it registers handlers on\n"
  "  config: {}               # lets init.lua read the settings below\n"
  "\n"
  "# Per-call budgets: a handler that goes over them fails alone.\n"
  "limits:\n"
  "  memory: 1MB\n"
  "  instructions: 1M\n"
  "\n"
  "# Settings the host may override (lplug.yaml: config: { @: {...} }).\n"
  "config:\n"
  "  tag: { type: string, default: \"@\",\n"
  "         description: the text put in each record's tag field }\n";

static const char code[] =
  "-- @: adds a field `tag` to every record that passes through.\n"
  "local hooks = require \"lplug.hooks\"\n"
  "local config = require \"lplug.config\"\n"
  "\n"
  "hooks.on(\"record\", function(rec)\n"
  "  rec.tag = config.tag\n"
  "  return rec   -- nil keeps the record as it was; false, hooks.STOP drops it\n"
  "end)\n";

static const char spec[] =
  "-- Run with: lplug test <this plugin's folder>\n"
  "local test = require \"lplug.test\"\n"
  "\n"
  "describe(\"@\", function()\n"
  "  it(\"tags each record\", function()\n"
  "    local h <close> = test.load()          -- this plugin, as a host would\n"
  "    local out = h:record(\"hello\")          -- through hook 'record'\n"
  "    assert.equals(\"hello\", out.line)\n"
  "    assert.equals(\"@\", out.tag)\n"
  "  end)\n"
  "\n"
  "  it(\"takes the tag from its config\", function()\n"
  "    local h <close> = test.load{ config = { tag = \"custom\" } }\n"
  "    assert.equals(\"custom\", h:record(\"hello\").tag)\n"
  "  end)\n"
  "end)\n";

static const char readme[] =
  "# @\n"
  "\n"
  "Adds a field `tag` to every record (setting `tag`, default `@`).\n"
  "\n"
  "```sh\n"
  "lplug check .          # manifest, code and capabilities agree\n"
  "lplug test .           # runs spec/*_spec.lua\n"
  "echo hi | lplug run --plugins ..\n"
  "```\n"
  "\n"
  "Writing plugins: docs/plugin-guide.md in the lplug sources.\n";

static int valid_name(const char *s) {
  size_t i, n = strlen(s);
  if (n == 0 || n > 64 || s[0] < 'a' || s[0] > 'z') return 0;
  for (i = 1; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
          s[i] == '-' || s[i] == '_'))
      return 0;
  return 1;
}

/* Makes folder `dir` and the folders above it that are absent, as
** mkdir -p; 0 or -1 with errno. */
static int make_folders(const char *dir) {
  char path[4096];
  size_t i, n = strlen(dir);
  if (n >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(path, dir, n + 1);
  for (i = 1; i <= n; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    path[i] = '\0';
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
    path[i] = dir[i];
  }
  return 0;
}

static const char *const made_files[] = {
  "plugin.yaml", "init.lua", "spec/init_spec.lua", "README.md"
};

/* Removes what a failed `new` made in folder `path` (which it made
** itself, so nothing else is in it), leaving no half plugin behind. */
static void unmake(const char *path) {
  char file[4200];
  size_t i;
  for (i = 0; i < sizeof made_files / sizeof made_files[0]; i++) {
    snprintf(file, sizeof file, "%s/%s", path, made_files[i]);
    unlink(file);
  }
  snprintf(file, sizeof file, "%s/spec", path);
  rmdir(file);
  rmdir(path);
}

/* Writes `text` with each @ replaced by name into dir/file. */
static int write_file(const char *dir, const char *file, const char *text,
                      const char *name) {
  char path[4096];
  const char *p;
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, file);
  f = fopen(path, "w");
  if (f == NULL) {
    cli_error("cannot write '%s': %s", path, strerror(errno));
    return 1;
  }
  for (p = text; *p; p++) {
    if (*p == '@') fputs(name, f);
    else fputc(*p, f);
  }
  if (fclose(f) != 0) {
    cli_error("cannot write '%s': %s", path, strerror(errno));
    return 1;
  }
  return 0;
}

/* Writes s as one word a shell reads back as s: as it is when it holds
** only characters no shell treats specially (nor starts with '=', which
** zsh expands to a command's path), else in single quotes (a quote
** inside as '\''), so that the "next:" line can be pasted. */
static void put_shell_word(FILE *f, const char *s) {
  const char *c;
  if (s[0] != '\0' && s[0] != '=' &&
      s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                  "_./+,:@%=-")] == '\0') {
    fputs(s, f);
    return;
  }
  putc('\'', f);
  for (c = s; *c; c++) {
    if (*c == '\'') fputs("'\\''", f);
    else putc(*c, f);
  }
  putc('\'', f);
}

int cli_new(int argc, char **argv) {
  const char *name = NULL, *dir = NULL, *dashes;
  char path[4096], specdir[4200];
  int i, options = 1;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!options || a[0] != '-') {
      if (name != NULL) {
        cli_error("one plugin at a time: '%s' and '%s' (try 'lplug new "
                  "--help')", name, a);
        return 2;
      }
      name = a;
    } else if (strcmp(a, "--") == 0) {  /* the rest are names */
      options = 0;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--dir") == 0) {
      if (++i == argc) {
        cli_error("--dir needs a folder (try 'lplug new --help')");
        return 2;
      }
      /* Two would make one plugin in one of them: which was meant? */
      if (dir != NULL) {
        cli_error("--dir given twice ('%s' and '%s'); give one (try "
                  "'lplug new --help')", dir, argv[i]);
        return 2;
      }
      dir = argv[i];
      if (dir[0] == '\0') {
        cli_error("--dir needs a folder, not an empty name (try 'lplug new "
                  "--help')");
        return 2;
      }
    } else {
      cli_error("unknown option '%s' (try 'lplug new --help')", a);
      return 2;
    }
  }
  if (dir == NULL) dir = ".";
  if (name == NULL) {
    cli_error("name the plugin: 'lplug new NAME' (try 'lplug new --help')");
    return 2;
  }
  if (!valid_name(name)) {
    cli_error("'%s' is not a plugin name (a lower-case letter, then "
              "lower-case letters, digits, '-' or '_'; at most 64)", name);
    return 2;
  }
  /* The longest path made must fit before anything is made. */
  if (snprintf(path, sizeof path, "%s/%s/spec/init_spec.lua", dir, name) >=
      (int)sizeof path) {
    cli_error("cannot make plugin '%s' in '%.40s...': %s", name, dir,
              strerror(ENAMETOOLONG));
    return 1;
  }
  if (make_folders(dir) != 0) {
    cli_error("cannot make folder '%s': %s", dir, strerror(errno));
    return 1;
  }
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (mkdir(path, 0777) != 0) {
    cli_error("cannot make folder '%s': %s%s", path, strerror(errno),
              errno == EEXIST ? " (choose another name, or --dir)" : "");
    return 1;
  }
  snprintf(specdir, sizeof specdir, "%s/spec", path);
  if (mkdir(specdir, 0777) != 0) {
    cli_error("cannot make folder '%s': %s", specdir, strerror(errno));
    unmake(path);
    return 1;
  }
  if (write_file(path, made_files[0], manifest, name) ||
      write_file(path, made_files[1], code, name) ||
      write_file(path, made_files[2], spec, name) ||
      write_file(path, made_files[3], readme, name)) {
    unmake(path);
    return 1;
  }
  /* A path starting with '-' (--dir -x) would be an option to them. */
  dashes = path[0] == '-' ? "-- " : "";
  printf("made plugin '%s' in %s\nnext: lplug check %s", name, path, dashes);
  put_shell_word(stdout, path);
  printf(" && lplug test %s", dashes);
  put_shell_word(stdout, path);
  putchar('\n');
  return 0;
}
