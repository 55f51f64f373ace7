/* Visibility-mask propagation through window operators. */
#include "adx/ad.h"

void adx_mask_window(const adx_mseg *segs, int nseg, size_t offset, int C, int H, int W, const adx_window *w,
                     int OH, int OW, const adx_ad_opts *o, uint8_t *out, float *scale) {
  for (int oy = 0; oy < OH; oy++) {
    int y0 = oy * w->sh - w->ph0;
    for (int ox = 0; ox < OW; ox++) {
      int x0 = ox * w->sw - w->pw0;
      double hidden = 0;
      int inside = 0;
      for (int s = 0; s < nseg; s++) {
        const uint8_t *m = segs[s].m + offset;
        int hid = 0;
        inside = 0;
        for (int ky = 0; ky < w->kh; ky++) {
          int y = y0 + ky * w->dh;
          if (y < 0 || y >= H) continue;
          for (int kx = 0; kx < w->kw; kx++) {
            int x = x0 + kx * w->dw;
            if (x < 0 || x >= W) continue;
            inside++;
            hid += !m[(size_t)y * W + x];
          }
        }
        hidden += (double)(segs[s].c1 - segs[s].c0) * hid;
      }
      double total = (double)C * inside;
      /* A window lying wholly in the padding reads no pixel at all: it stays active (it is constant). */
      int off = total > 0 && adx_ad_deactivates(o, hidden, total);
      out[(size_t)oy * OW + ox] = off ? 0 : 1;
      /* partial renormalisation: total / visible weight (1 where nothing is hidden, or deactivated) */
      if (scale) scale[(size_t)oy * OW + ox] = off || hidden <= 0 ? 1.0f : (float)(total / (total - hidden));
    }
  }
}
