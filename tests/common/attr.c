/* Node attribute builders for tests (attr.h). */
#include <stdlib.h>
#include <string.h>

#include "common/attr.h"

static adx_attr named(const char *name, adx_attr_type type) {
  adx_attr a;
  memset(&a, 0, sizeof a);
  a.name = strdup(name);
  a.type = type;
  return a;
}

adx_attr tu_attr_ints(const char *name, int n, const int64_t *v) {
  adx_attr a = named(name, ADX_ATTR_INTS);
  a.n = n;
  a.ints = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
  if (n) memcpy(a.ints, v, sizeof(int64_t) * (size_t)n);
  return a;
}

adx_attr tu_attr_int(const char *name, int64_t v) {
  adx_attr a = named(name, ADX_ATTR_INT);
  a.i = v;
  return a;
}

adx_attr tu_attr_float(const char *name, float v) {
  adx_attr a = named(name, ADX_ATTR_FLOAT);
  a.f = v;
  return a;
}

adx_attr tu_attr_str(const char *name, const char *s) {
  adx_attr a = named(name, ADX_ATTR_STRING);
  a.s = strdup(s);
  return a;
}
