/*
** escape.c -- text that plugins control, made safe to print.
**
** Messages, errors, spec names and results, check problems quoting a
** plugin's code: any of it may hold control characters.  Printed as
** they are, a newline could forge a line of ours ("lplug: ...", "3
** passed, 0 failed"), an escape sequence recolor or clear the terminal.
** Every command prints such text through cli_say or cli_escape.
*/
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* The longest form one character takes: a C1 control, "\xc2\x9b". */
#define ESCAPED_MAX 8

/* Writes into out the form of the character at c, and returns its
** length; *used is the bytes of c it stands for (2 for a C1 control). */
static size_t escape_one(const unsigned char *c, int indented, char *out,
                         int *used) {
  *used = 1;
  if (*c == '\t' || (*c == '\n' && indented && c[1] == '\t')) {
    out[0] = (char)*c;
    return 1;
  }
  if (*c == '\n' || *c == '\r') {
    out[0] = '\\';
    out[1] = *c == '\n' ? 'n' : 'r';
    return 2;
  }
  if (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) {  /* U+0080..U+009F */
    *used = 2;
    return (size_t)sprintf(out, "\\x%02x\\x%02x", c[0], c[1]);
  }
  if (*c < 0x20 || *c == 0x7f) return (size_t)sprintf(out, "\\x%02x", *c);
  out[0] = (char)*c;
  return 1;
}

/* Built in a buffer: stderr is unbuffered, and a write per byte made a
** 4 KB line cost 4096 system calls. */
void cli_say(FILE *f, const char *prefix, const char *text, int indented) {
  const unsigned char *c = (const unsigned char *)text;
  char out[4096];
  size_t n = strlen(prefix);
  int used;
  if (n > sizeof out / 2) {  /* prefixes are short: ours */
    fputs(prefix, f);
    n = 0;
  } else {
    memcpy(out, prefix, n);
  }
  for (; *c; c += used) {
    if (n > sizeof out - ESCAPED_MAX - 1) {
      fwrite(out, 1, n, f);
      n = 0;
    }
    n += escape_one(c, indented, out + n, &used);
  }
  out[n++] = '\n';
  fwrite(out, 1, n, f);
}

const char *cli_escape(const char *text, char *out, size_t size) {
  const unsigned char *c = (const unsigned char *)text;
  char one[ESCAPED_MAX + 1];
  size_t n = 0, len;
  int used;
  if (size == 0) return out;
  for (; *c; c += used) {
    len = escape_one(c, 0, one, &used);
    if (n + len >= size) break;  /* cut at a whole character */
    memcpy(out + n, one, len);
    n += len;
  }
  out[n] = '\0';
  return out;
}
