/* sliding: occlusion sensitivity (Zeiler & Fergus). A window x window square is hidden at every stride
 * position (plus a last position flush with the bottom/right edge, so every pixel is covered); all positions
 * go to the oracle in one request. A pixel's responsibility is the mean, over the windows covering it, of
 * p_full - p_occluded for the target. The sign is kept: a window whose hiding raises the target's probability
 * gives negative evidence, and ranks those pixels last (docs/explainers.md). */
#include <stdlib.h>
#include <string.h>

#include "adx/explain.h"

/* Window origins along one axis of length n: 0, stride, ... and n - win if the grid misses it. */
static int origins(int n, int win, int stride, int *out) {
  int k = 0;
  for (int v = 0; v <= n - win; v += stride) out[k++] = v;
  if (out[k - 1] != n - win) out[k++] = n - win;
  return k;
}

adx_status adx_sliding_responsibility(const adx_sliding_params *p, adx_oracle *o, int target, float *resp,
                                      adx_error *err) {
  const int H = o->H, W = o->W, nc = o->nclasses;
  const size_t hw = (size_t)H * (size_t)W;
  const int win = p->window > 0 ? p->window : adx_sliding_window(H, W);
  const int stride = p->stride > 0 ? p->stride : (win / 2 < 1 ? 1 : win / 2);
  if (win > H || win > W || target < 0 || target >= nc)
    return adx_fail(err, ADX_ERR_ARG, "sliding: window %d does not fit a %dx%d image", win, H, W);
  int *oy = malloc(sizeof(int) * (size_t)(H + 1)), *ox = malloc(sizeof(int) * (size_t)(W + 1));
  if (!oy || !ox) {
    free(oy);
    free(ox);
    return adx_fail(err, ADX_ERR_NOMEM, "sliding: out of memory");
  }
  int ny = origins(H, win, stride, oy), nx = origins(W, win, stride, ox), npos = ny * nx;
  adx_status s = ADX_OK;
  size_t mbytes, pbytes;
  uint8_t *masks = NULL;
  float *probs = NULL;
  double *sum = calloc(hw, sizeof *sum);
  int *cnt = calloc(hw, sizeof *cnt);
  if (adx_mul_size(hw, (size_t)npos, &mbytes) ||
      adx_mul_size((size_t)nc * sizeof(float), (size_t)npos, &pbytes))
    s = adx_fail(err, ADX_ERR_LIMIT, "sliding: %d window positions need too much memory", npos);
  if (!s) {
    masks = adx_alloc(mbytes);
    probs = adx_alloc(pbytes);
    if (!masks || !probs || !sum || !cnt) s = adx_fail(err, ADX_ERR_NOMEM, "sliding: out of memory");
  }
  if (!s) {
    memset(masks, 1, mbytes);
    for (int a = 0; a < ny; a++)
      for (int b = 0; b < nx; b++) {
        uint8_t *m = masks + (size_t)(a * nx + b) * hw;
        for (int y = oy[a]; y < oy[a] + win; y++) memset(m + (size_t)y * W + ox[b], 0, (size_t)win);
      }
    s = adx_oracle_ask(o, masks, npos, probs, err);
  }
  if (!s) {
    const double p_full = o->full[target];
    for (int a = 0; a < ny; a++)
      for (int b = 0; b < nx; b++) {
        double drop = p_full - (double)probs[(size_t)(a * nx + b) * nc + target];
        for (int y = oy[a]; y < oy[a] + win; y++)
          for (int x = ox[b]; x < ox[b] + win; x++) {
            sum[(size_t)y * W + x] += drop;
            cnt[(size_t)y * W + x]++;
          }
      }
    for (size_t k = 0; k < hw; k++) resp[k] = (float)(sum[k] / cnt[k]);
  }
  free(oy);
  free(ox);
  free(sum);
  free(cnt);
  adx_free(masks);
  adx_free(probs);
  return s;
}
