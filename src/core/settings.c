/* Settings read from the environment (docs/configuration.md, "Environment variables"): pure functions of
 * it, read by the engine and the layers below it, so they live here at the bottom. */
#include <stdlib.h>
#include <string.h>

#include "adx/core.h"

int adx_conv_backend(void) {
  const char *conv = getenv("ADX_CONV");
  if (!conv || !*conv || !strcmp(conv, "dnnl") || !strcmp(conv, "dnnl-direct")) return 1;
  return strcmp(conv, "blas") ? -1 : 0;
}

int adx_conv_winograd_allowed(void) {
  const char *conv = getenv("ADX_CONV");
  return !conv || !*conv || !strcmp(conv, "dnnl");
}

int adx_incremental_setting(double *frac) {
  const char *f = getenv("ADX_INCREMENTAL_FRACTION");
  *frac = ADX_INCREMENTAL_DEFAULT_FRACTION;
  if (f && *f) {
    char *end;
    double v = strtod(f, &end);
    *frac = *end || !(v >= 0.0 && v <= 1.0) ? -1.0 : v;
  }
  const char *s = getenv("ADX_INCREMENTAL");
  if (!s || !*s) return ADX_INCREMENTAL_DEFAULT;
  if (!strcmp(s, "0") || !strcmp(s, "1")) return s[0] - '0';
  return -1;
}

int adx_layout_setting(void) {
  const char *s = getenv("ADX_LAYOUT");
  if (!s || !*s || !strcmp(s, "blocked")) return 1;
  return strcmp(s, "nchw") ? -1 : 0;
}

int adx_ad_band_setting(void) {
  const char *s = getenv("ADX_AD_BAND");
  if (!s || !*s || !strcmp(s, "1")) return 1;
  return strcmp(s, "0") ? -1 : 0;
}

int adx_chunk_setting(void) {
  const char *s = getenv("ADX_CHUNK");
  if (!s || !*s || !strcmp(s, "auto")) return 0;
  char *end;
  long v = strtol(s, &end, 10);
  return *end || v < 1 || v > 1 << 20 ? -1 : (int)v;
}
