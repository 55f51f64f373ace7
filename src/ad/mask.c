/* Visibility-mask propagation through window operators. */
#include <stdint.h>
#include <stdlib.h>

#include "adx/ad.h"

/* Decide one output position from its window's hidden weight and in-bounds total. */
static void decide(const adx_ad_opts *o, double hidden, double total, uint8_t *out, float *scale) {
  /* A window lying wholly in the padding reads no pixel at all: it stays active (it is constant). */
  int off = total > 0 && adx_ad_deactivates(o, hidden, total);
  *out = off ? 0 : 1;
  /* partial renormalisation: total / visible weight (1 where nothing is hidden, or deactivated) */
  if (scale) *scale = off || hidden <= 0 ? 1.0f : (float)(total / (total - hidden));
}

/* Any window geometry: every tap visited. */
static void window_taps(const adx_mseg *segs, int nseg, size_t offset, int C, int H, int W,
                        const adx_window *w, int OH, int OW, const adx_ad_opts *o, uint8_t *out,
                        float *scale) {
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
      size_t at = (size_t)oy * OW + ox;
      decide(o, hidden, (double)C * inside, out + at, scale ? scale + at : NULL);
    }
  }
}

/* Undilated windows: the hidden count of a window is a rectangle sum of a summed-area table of the hidden
 * positions, so a position costs O(segments) instead of O(kernel). The counts are integers, so the
 * outcome is exactly window_taps's. sat: (H+1)*(W+1) ints per segment. */
static void window_sat(const adx_mseg *segs, int nseg, size_t offset, int C, int H, int W,
                       const adx_window *w, int OH, int OW, const adx_ad_opts *o, uint8_t *out, float *scale,
                       int32_t *sat) {
  const size_t sw = (size_t)W + 1, plane = (size_t)(H + 1) * sw;
  for (int s = 0; s < nseg; s++) {
    const uint8_t *m = segs[s].m + offset;
    int32_t *t = sat + (size_t)s * plane;
    for (size_t x = 0; x < sw; x++) t[x] = 0;
    for (int y = 0; y < H; y++) {
      int32_t row = 0;
      int32_t *ty = t + (size_t)(y + 1) * sw, *tp = t + (size_t)y * sw;
      ty[0] = 0;
      for (int x = 0; x < W; x++) {
        row += !m[(size_t)y * W + x];
        ty[x + 1] = tp[x + 1] + row;
      }
    }
  }
  /* One segment and a small window (the common case): every (in-bounds, hidden) count pair is decided
   * once, by the same expression as below, and looked up per position. */
  enum { LUT_MAX = 1024 };
  const int K = w->kh * w->kw;
  if (nseg == 1 && (K + 1) * (K + 1) <= LUT_MAX) {
    uint8_t dec[LUT_MAX];
    float sc[LUT_MAX];
    const double cw = (double)(segs[0].c1 - segs[0].c0);
    for (int in = 0; in <= K; in++)
      for (int h = 0; h <= in; h++)
        decide(o, cw * h, (double)C * in, dec + in * (K + 1) + h, scale ? sc + in * (K + 1) + h : NULL);
    const int32_t *t = sat;
    for (int oy = 0; oy < OH; oy++) {
      int y0 = oy * w->sh - w->ph0, y1 = y0 + w->kh;
      if (y0 < 0) y0 = 0;
      if (y1 > H) y1 = H;
      const int32_t *r0 = t + (size_t)(y0 < y1 ? y0 : 0) * sw, *r1 = t + (size_t)(y0 < y1 ? y1 : 0) * sw;
      uint8_t *orow = out + (size_t)oy * OW;
      float *srow = scale ? scale + (size_t)oy * OW : NULL;
      for (int ox = 0; ox < OW; ox++) {
        int x0 = ox * w->sw - w->pw0, x1 = x0 + w->kw;
        if (x0 < 0) x0 = 0;
        if (x1 > W) x1 = W;
        int in = 0, hid = 0;
        if (y1 > y0 && x1 > x0) {
          in = (y1 - y0) * (x1 - x0);
          hid = r1[x1] - r0[x1] - r1[x0] + r0[x0];
        }
        int at = in * (K + 1) + hid;
        orow[ox] = dec[at];
        if (srow) srow[ox] = sc[at];
      }
    }
    return;
  }
  for (int oy = 0; oy < OH; oy++) {
    int y0 = oy * w->sh - w->ph0, y1 = y0 + w->kh; /* rows [y0, y1) clipped to [0, H) */
    if (y0 < 0) y0 = 0;
    if (y1 > H) y1 = H;
    for (int ox = 0; ox < OW; ox++) {
      int x0 = ox * w->sw - w->pw0, x1 = x0 + w->kw;
      if (x0 < 0) x0 = 0;
      if (x1 > W) x1 = W;
      int inside = y1 > y0 && x1 > x0 ? (y1 - y0) * (x1 - x0) : 0;
      double hidden = 0;
      if (inside)
        for (int s = 0; s < nseg; s++) {
          const int32_t *t = sat + (size_t)s * plane;
          int32_t hid = t[(size_t)y1 * sw + x1] - t[(size_t)y0 * sw + x1] - t[(size_t)y1 * sw + x0] +
                        t[(size_t)y0 * sw + x0];
          hidden += (double)(segs[s].c1 - segs[s].c0) * hid;
        }
      size_t at = (size_t)oy * OW + ox;
      decide(o, hidden, (double)C * inside, out + at, scale ? scale + at : NULL);
    }
  }
}

void adx_mask_window(const adx_mseg *segs, int nseg, size_t offset, int C, int H, int W, const adx_window *w,
                     int OH, int OW, const adx_ad_opts *o, uint8_t *out, float *scale) {
  int32_t *sat = NULL;
  /* the table pays off once a window has more taps than a position has segments to look up */
  if (w->dh == 1 && w->dw == 1 && nseg > 0 && (int64_t)w->kh * w->kw > 2 &&
      (int64_t)(H + 1) * (W + 1) <= (INT32_MAX / 2) && (int64_t)H * W <= INT32_MAX)
    sat = malloc(sizeof(int32_t) * (size_t)(H + 1) * (size_t)(W + 1) * (size_t)nseg);
  if (sat) {
    window_sat(segs, nseg, offset, C, H, W, w, OH, OW, o, out, scale, sat);
    free(sat);
  } else {
    window_taps(segs, nseg, offset, C, H, W, w, OH, OW, o, out, scale);
  }
}
