/* JSON string output shared by adx info and adx predict (cli.h). */
#include <stdio.h>

#include "cli.h"

/* Length of the valid UTF-8 sequence at u (2 to 4 bytes), or 0 when it is not one (a stray continuation
 * byte, an overlong form, a surrogate, a code point over U+10FFFF, a truncated sequence). */
static int utf8_len(const unsigned char *u) {
  unsigned c = u[0];
  int n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  for (int i = 1; i < n; i++)
    if ((u[i] & 0xc0) != 0x80) return 0;
  if (n == 3 && ((c == 0xe0 && u[1] < 0xa0) || (c == 0xed && u[1] >= 0xa0))) return 0;
  if (n == 4 && ((c == 0xf0 && u[1] < 0x90) || (c == 0xf4 && u[1] >= 0x90))) return 0;
  return n;
}

void adx_cli_json_str(FILE *f, const char *s) {
  const unsigned char *u = (const unsigned char *)(s ? s : "");
  fputc('"', f);
  while (*u) {
    unsigned c = *u;
    int n = 1;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c == '\t')
      fputs("\\t", f);
    else if (c == '\r')
      fputs("\\r", f);
    else if (c < 0x20 || c == 0x7f)
      fprintf(f, "\\u%04x", c);
    else if (c < 0x80)
      fputc((int)c, f);
    else if ((n = utf8_len(u)) > 0)
      fwrite(u, 1, (size_t)n, f);
    else
      fputs("\\ufffd", f), n = 1;
    u += n;
  }
  fputc('"', f);
}
