/* adx_mask_window against a direct reading of its contract (adx/ad.h): for every output position, count
 * the in-bounds taps of its window and the hidden ones, weight each segment's hidden count by its
 * channels, and apply the rule. Random masks over many geometries (kernel 1..7, strides 1..3, pads up to
 * beyond the kernel, dilation 1 and 2, one to three channel segments), every rule, with and without the
 * partial-renormalisation scale. The library takes a summed-area-table path for undilated windows and a
 * per-tap path otherwise; both must give exactly these outputs. A hand-derived case anchors the reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static int rnd(int n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (int)(rng % (uint64_t)n);
}

/* The contract, read literally. */
static void expected(const adx_mseg *segs, int nseg, int C, int H, int W, const adx_window *w, int OH, int OW,
                     const adx_ad_opts *o, uint8_t *out, float *scale) {
  for (int oy = 0; oy < OH; oy++)
    for (int ox = 0; ox < OW; ox++) {
      int in = 0;
      double hidden = 0;
      for (int s = 0; s < nseg; s++) {
        int hid = 0;
        in = 0;
        for (int ky = 0; ky < w->kh; ky++)
          for (int kx = 0; kx < w->kw; kx++) {
            int y = oy * w->sh - w->ph0 + ky * w->dh, x = ox * w->sw - w->pw0 + kx * w->dw;
            if (y < 0 || y >= H || x < 0 || x >= W) continue;
            in++;
            if (!segs[s].m[y * W + x]) hid++;
          }
        hidden += (double)(segs[s].c1 - segs[s].c0) * hid;
      }
      double total = (double)C * in;
      int off = 0;
      if (total > 0 && hidden > 0) {
        if (o->rule == ADX_RULE_STRICT)
          off = 1;
        else if (o->rule == ADX_RULE_LOOSE)
          off = hidden >= total;
        else
          off = hidden > (double)o->ratio * total;
      }
      out[oy * OW + ox] = (uint8_t)!off;
      if (scale) scale[oy * OW + ox] = off || hidden <= 0 ? 1.0f : (float)(total / (total - hidden));
    }
}

static int out_size(int in, int k, int s, int d, int p0, int p1) {
  int span = (k - 1) * d + 1;
  if (in + p0 + p1 < span) return 0;
  return (in + p0 + p1 - span) / s + 1;
}

static void test_random_geometries(void **state) {
  (void)state;
  static const int pads[] = {0, 1, 2, 3, 8};
  int cases = 0, sat_cases = 0;
  for (int it = 0; it < 3000; it++) {
    adx_window w = {0};
    w.kh = 1 + rnd(7);
    w.kw = 1 + rnd(7);
    w.sh = 1 + rnd(3);
    w.sw = 1 + rnd(3);
    w.dh = rnd(4) ? 1 : 2;
    w.dw = rnd(4) ? 1 : 2;
    w.ph0 = pads[rnd(5)];
    w.ph1 = pads[rnd(5)];
    w.pw0 = pads[rnd(5)];
    w.pw1 = pads[rnd(5)];
    int H = 1 + rnd(20), W = 1 + rnd(20);
    int OH = out_size(H, w.kh, w.sh, w.dh, w.ph0, w.ph1), OW = out_size(W, w.kw, w.sw, w.dw, w.pw0, w.pw1);
    if (OH < 1 || OW < 1) continue;
    int nseg = 1 + rnd(3), C = 0;
    adx_mseg segs[3];
    uint8_t *masks = malloc((size_t)nseg * H * W);
    int density = rnd(5); /* 0: all hidden, 4: all visible, else random with that share visible */
    for (int s = 0; s < nseg; s++) {
      segs[s].c0 = C;
      C += 1 + rnd(4);
      segs[s].c1 = C;
      segs[s].m = masks + (size_t)s * H * W;
      for (int i = 0; i < H * W; i++) masks[(size_t)s * H * W + i] = (uint8_t)(rnd(4) < density);
    }
    C += rnd(3); /* channels without a segment are visible */
    adx_ad_opts o;
    adx_ad_opts_default(&o);
    int r = rnd(4);
    o.rule = r == 0 ? ADX_RULE_STRICT : r == 1 ? ADX_RULE_LOOSE : ADX_RULE_RATIO;
    o.ratio = r == 2 ? 0.25f : 0.5f;
    size_t n = (size_t)OH * OW;
    uint8_t *got = malloc(n), *want = malloc(n);
    float *gs = malloc(sizeof(float) * n), *ws = malloc(sizeof(float) * n);
    int with_scale = rnd(2);
    adx_mask_window(segs, nseg, 0, C, H, W, &w, OH, OW, &o, got, with_scale ? gs : NULL);
    expected(segs, nseg, C, H, W, &w, OH, OW, &o, want, with_scale ? ws : NULL);
    if (memcmp(got, want, n)) {
      fail_msg("mask differs: H %d W %d k %dx%d s %d,%d d %d,%d pads %d,%d,%d,%d nseg %d rule %d", H, W, w.kh,
               w.kw, w.sh, w.sw, w.dh, w.dw, w.ph0, w.pw0, w.ph1, w.pw1, nseg, r);
    }
    if (with_scale) assert_memory_equal(gs, ws, sizeof(float) * n);
    cases++;
    sat_cases += w.dh == 1 && w.dw == 1 && w.kh * w.kw > 2;
    free(masks);
    free(got);
    free(want);
    free(gs);
    free(ws);
  }
  print_message("%d geometries, %d of them on the summed-area path\n", cases, sat_cases);
  assert_true(cases > 1000 && sat_cases > 300);
}

/* Hand-derived: 4x4 mask with the top-left 2x2 hidden, 3x3 window, stride 1, pad 1, one channel.
 * Output (0,0) reads taps (0..1)x(0..1): 4 in bounds, all hidden -> off under every rule.
 * Output (1,1) reads (0..2)x(0..2): 9 in bounds, 4 hidden -> ratio 0.5: 4 > 4.5 is false -> active,
 * scale 9/5; loose: 4 >= 9 false -> active; strict: off. Output (3,3) reads (2..3)x(2..3): nothing hidden. */
static void test_hand(void **state) {
  (void)state;
  uint8_t m[16];
  memset(m, 1, sizeof m);
  m[0] = m[1] = m[4] = m[5] = 0;
  adx_mseg seg = {0, 1, m};
  adx_window w = {0};
  w.kh = w.kw = 3;
  w.sh = w.sw = w.dh = w.dw = 1;
  w.ph0 = w.ph1 = w.pw0 = w.pw1 = 1;
  adx_ad_opts o;
  adx_ad_opts_default(&o); /* ratio 0.5 */
  uint8_t out[16];
  float sc[16];
  adx_mask_window(&seg, 1, 0, 1, 4, 4, &w, 4, 4, &o, out, sc);
  assert_int_equal(out[0], 0);
  assert_int_equal(out[5], 1);
  assert_true(sc[5] == (float)(9.0 / 5.0));
  assert_int_equal(out[15], 1);
  assert_true(sc[15] == 1.0f);
  o.rule = ADX_RULE_STRICT;
  adx_mask_window(&seg, 1, 0, 1, 4, 4, &w, 4, 4, &o, out, NULL);
  assert_int_equal(out[5], 0);
  assert_int_equal(out[15], 1);
  o.rule = ADX_RULE_LOOSE;
  adx_mask_window(&seg, 1, 0, 1, 4, 4, &w, 4, 4, &o, out, NULL);
  assert_int_equal(out[0], 0);
  assert_int_equal(out[5], 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_hand), cmocka_unit_test(test_random_geometries)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
