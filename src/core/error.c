/* Status codes and error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "adx/core.h"

adx_status adx_fail(adx_error *err, adx_status code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

adx_status adx_error_prefix(adx_error *err, const char *fmt, ...) {
  if (!err) return ADX_ERR_INTERNAL;
  char prefix[512], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  size_t k = strlen(prefix);
  if (k >= sizeof err->msg) k = sizeof err->msg - 1;
  memcpy(err->msg, prefix, k);
  size_t rest = strlen(old);
  if (rest > sizeof err->msg - 1 - k) rest = sizeof err->msg - 1 - k;
  memcpy(err->msg + k, old, rest);
  err->msg[k + rest] = '\0';
  return err->code;
}

const char *adx_status_name(adx_status s) {
  switch (s) {
  case ADX_OK: return "ok";
  case ADX_ERR_ARG: return "bad argument";
  case ADX_ERR_IO: return "i/o error";
  case ADX_ERR_FORMAT: return "bad format";
  case ADX_ERR_UNSUPPORTED: return "unsupported";
  case ADX_ERR_SHAPE: return "shape mismatch";
  case ADX_ERR_LIMIT: return "limit exceeded";
  case ADX_ERR_RUNTIME: return "run failed";
  case ADX_ERR_NOMEM: return "out of memory";
  case ADX_ERR_INTERNAL: return "internal error";
  }
  return "unknown";
}

int adx_exit_code(adx_status s) {
  if (s == ADX_OK) return 0;
  return s < ADX_ERR_RUNTIME ? 2 : 1;
}
