/* Window geometry shared by Conv and the pools (conv.h): output sizes under ONNX's padding rules and the
 * parsing of a 2-D window's attributes. */
#include <limits.h>
#include <string.h>

#include "conv.h"
#include "ops.h"

int64_t adx_window_out_size(int64_t in, int k, int s, int d, adx_auto_pad ap, int ceil_mode, int *p0,
                            int *p1) {
  int64_t ek = (int64_t)(k - 1) * d + 1;
  if (ap == ADX_PAD_SAME_UPPER || ap == ADX_PAD_SAME_LOWER) {
    int64_t out = (in + s - 1) / s;
    int64_t total = (out - 1) * s + ek - in;
    if (total < 0) total = 0;
    int64_t small = total / 2, big = total - small;
    *p0 = (int)(ap == ADX_PAD_SAME_UPPER ? small : big);
    *p1 = (int)(ap == ADX_PAD_SAME_UPPER ? big : small);
    return out;
  }
  if (ap == ADX_PAD_VALID) {
    *p0 = *p1 = 0;
    ceil_mode = 0;
  }
  int64_t span = in + *p0 + *p1 - ek;
  if (span < 0) return 0;
  if (!ceil_mode) return span / s + 1;
  int64_t out = (span + s - 1) / s + 1;
  if ((out - 1) * s >= in + *p0) out--; /* the last window must start inside the input or its left pad */
  return out;
}

static int ints2(const adx_node *n, const char *name, int def, int lo, int v[2], adx_error *err,
                 adx_status *st) {
  const int64_t *a;
  int k = adx_attr_ints(n, name, &a);
  if (k < 0) {
    v[0] = v[1] = def;
    return 0;
  }
  if (k != 2) {
    *st = adx_node_fail(n, err, k == 1 || k == 3 ? ADX_ERR_UNSUPPORTED : ADX_ERR_FORMAT,
                        "%s has %d values; only 2-D windows are supported", name, k);
    return -1;
  }
  for (int i = 0; i < 2; i++) {
    if (a[i] < lo || a[i] > INT_MAX / 4) {
      *st = adx_node_fail(n, err, ADX_ERR_FORMAT, "%s value %lld is out of range", name, (long long)a[i]);
      return -1;
    }
    v[i] = (int)a[i];
  }
  return 0;
}

adx_status adx_window_infer(const adx_node *n, int64_t H, int64_t W, const int64_t *kernel, int ceil_mode,
                            adx_window *w, int64_t *OH, int64_t *OW, adx_error *err) {
  adx_status st = ADX_OK;
  int k[2], s[2], d[2];
  memset(w, 0, sizeof *w);
  const int64_t *ks;
  int nk = adx_attr_ints(n, "kernel_shape", &ks);
  if (nk >= 0) {
    if (nk != 2)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED,
                           "kernel_shape has %d values; only 2-D windows are supported", nk);
    for (int i = 0; i < 2; i++)
      if (ks[i] < 1 || ks[i] > INT_MAX / 4)
        return adx_node_fail(n, err, ADX_ERR_FORMAT, "kernel_shape value %lld is out of range",
                             (long long)ks[i]);
    if (kernel && (ks[0] != kernel[0] || ks[1] != kernel[1]))
      return adx_node_fail(n, err, ADX_ERR_SHAPE,
                           "kernel_shape [%lld,%lld] does not match the weight's %lldx%lld", (long long)ks[0],
                           (long long)ks[1], (long long)kernel[0], (long long)kernel[1]);
    k[0] = (int)ks[0];
    k[1] = (int)ks[1];
  } else if (kernel) {
    if (kernel[0] < 1 || kernel[1] < 1 || kernel[0] > INT_MAX / 4 || kernel[1] > INT_MAX / 4)
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "weight kernel %lldx%lld is invalid", (long long)kernel[0],
                           (long long)kernel[1]);
    k[0] = (int)kernel[0];
    k[1] = (int)kernel[1];
  } else {
    return adx_node_fail(n, err, ADX_ERR_FORMAT, "attribute kernel_shape is required");
  }
  if (ints2(n, "strides", 1, 1, s, err, &st) || ints2(n, "dilations", 1, 1, d, err, &st)) return st;

  const char *aps = adx_attr_str(n, "auto_pad", "NOTSET");
  adx_auto_pad ap;
  if (!strcmp(aps, "NOTSET") || !*aps)
    ap = ADX_PAD_NOTSET;
  else if (!strcmp(aps, "SAME_UPPER"))
    ap = ADX_PAD_SAME_UPPER;
  else if (!strcmp(aps, "SAME_LOWER"))
    ap = ADX_PAD_SAME_LOWER;
  else if (!strcmp(aps, "VALID"))
    ap = ADX_PAD_VALID;
  else
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "auto_pad '%s' is not supported", aps);

  int pads[4] = {0, 0, 0, 0};
  const int64_t *pa;
  int np = adx_attr_ints(n, "pads", &pa);
  if (np >= 0 && ap == ADX_PAD_NOTSET) {
    if (np != 4)
      return adx_node_fail(n, err, np == 2 || np == 6 ? ADX_ERR_UNSUPPORTED : ADX_ERR_FORMAT,
                           "pads has %d values; only 2-D windows (4 pads) are supported", np);
    for (int i = 0; i < 4; i++) {
      if (pa[i] < 0 || pa[i] > INT_MAX / 4)
        return adx_node_fail(n, err, ADX_ERR_FORMAT, "pads value %lld is out of range", (long long)pa[i]);
      pads[i] = (int)pa[i];
    }
  }
  if (H < 1 || W < 1 || H > INT_MAX / 4 || W > INT_MAX / 4)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "input spatial size %lldx%lld is invalid", (long long)H,
                         (long long)W);
  *OH = adx_window_out_size(H, k[0], s[0], d[0], ap, ceil_mode, &pads[0], &pads[2]);
  *OW = adx_window_out_size(W, k[1], s[1], d[1], ap, ceil_mode, &pads[1], &pads[3]);
  if (*OH < 1 || *OW < 1)
    return adx_node_fail(n, err, ADX_ERR_SHAPE,
                         "kernel %dx%d (dilation %d,%d) does not fit input %lldx%lld with pads [%d,%d,%d,%d]",
                         k[0], k[1], d[0], d[1], (long long)H, (long long)W, pads[0], pads[1], pads[2],
                         pads[3]);
  w->kh = k[0];
  w->kw = k[1];
  w->sh = s[0];
  w->sw = s[1];
  w->dh = d[0];
  w->dw = d[1];
  w->ph0 = pads[0];
  w->pw0 = pads[1];
  w->ph1 = pads[2];
  w->pw1 = pads[3];
  return ADX_OK;
}
