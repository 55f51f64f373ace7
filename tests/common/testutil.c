#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tu_data(char *buf, size_t len, const char *rel) {
  const char *d = getenv("ADX_TEST_DATA");
  snprintf(buf, len, "%s/%s", d && *d ? d : "tests/data", rel);
  return buf;
}

double tu_max_abs_diff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (d > m || d != d) m = d != d ? INFINITY : d;
  }
  return m;
}

long tu_json_int(const char *path, const char *anchor, const char *key) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  static const size_t cap = 1 << 20;
  char *buf = calloc(1, cap + 1);
  size_t n = buf ? fread(buf, 1, cap, f) : 0;
  fclose(f);
  if (!buf) return -1;
  buf[n] = 0;
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  char *p = anchor ? strstr(buf, anchor) : buf;
  if (p) p = strstr(p, pat);
  long v = -1;
  if (p) {
    p = strchr(p + strlen(pat), ':');
    if (p) v = strtol(p + 1, NULL, 10);
  }
  free(buf);
  return v;
}
