/* Tensors and aligned allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/core.h"

void *adx_alloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
  return p;
}

void *adx_calloc(size_t bytes) {
  void *p = adx_alloc(bytes);
  if (p) memset(p, 0, bytes);
  return p;
}

void adx_free(void *p) { free(p); }

int adx_mul_size(size_t a, size_t b, size_t *out) {
  if (a && b > SIZE_MAX / a) return -1;
  *out = a * b;
  return 0;
}

size_t adx_dtype_size(adx_dtype d) { return d == ADX_I64 ? 8 : 4; }

int64_t adx_tensor_numel(const adx_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
  return n;
}

adx_status adx_tensor_alloc(adx_tensor *t, adx_dtype dtype, int ndim, const int64_t *dims, adx_error *err) {
  memset(t, 0, sizeof *t);
  if (ndim < 0 || ndim > ADX_MAX_DIMS)
    return adx_fail(err, ADX_ERR_SHAPE, "tensor rank %d exceeds %d", ndim, ADX_MAX_DIMS);
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0 || adx_mul_size(n, (size_t)dims[i], &n))
      return adx_fail(err, ADX_ERR_LIMIT, "tensor dimension %lld is negative or too large",
                      (long long)dims[i]);
    t->dims[i] = dims[i];
  }
  size_t bytes;
  if (adx_mul_size(n, adx_dtype_size(dtype), &bytes)) return adx_fail(err, ADX_ERR_LIMIT, "tensor too large");
  t->data = adx_calloc(bytes);
  if (!t->data) return adx_fail(err, ADX_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
  t->dtype = dtype;
  t->ndim = ndim;
  t->owns_data = 1;
  return ADX_OK;
}

void adx_tensor_free(adx_tensor *t) {
  if (!t) return;
  if (t->owns_data) adx_free(t->data);
  memset(t, 0, sizeof *t);
}

adx_status adx_tensor_clone(adx_tensor *dst, const adx_tensor *src, adx_error *err) {
  adx_status s = adx_tensor_alloc(dst, src->dtype, src->ndim, src->dims, err);
  if (s) return s;
  memcpy(dst->data, src->data, (size_t)adx_tensor_numel(src) * adx_dtype_size(src->dtype));
  return ADX_OK;
}

const char *adx_dims_str(const int64_t *dims, int ndim, char *buf, size_t len) {
  size_t k = 0;
  k += (size_t)snprintf(buf + k, len - k, "[");
  for (int i = 0; i < ndim && k < len; i++)
    k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (k < len) snprintf(buf + k, len - k, "]");
  return buf;
}

const char *adx_bytes_str(uint64_t bytes, char *buf, size_t len) {
  static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) {
    snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    return buf;
  }
  double v = (double)bytes / 1024.0;
  int u = 0;
  /* move up while the one-decimal rounding would print 1024.0 or more */
  while (u < 5 && v >= 1023.95) v /= 1024.0, u++;
  snprintf(buf, len, "%.1f %s", v, unit[u]);
  return buf;
}
