/* Known answer: a model that detects one planted 4x4 pattern must be explained by that pattern, in every
 * mode, by both explainers.
 *
 * The model (tiny_graphs.h): Conv with the +-1 pattern as kernel -> Relu -> GlobalMaxPool -> Gemm, logits
 * [0, 2 * (score - 4.5)], score = the best correlation of the image with the pattern.
 *
 * The images: uniform noise in [0.3, 0.7] (seeded), with the pattern planted at a position: 0.9 where the
 * pattern is +1, 0.1 where it is -1. At the pattern the score is 8*0.9 - 8*0.1 = 6.4 (p = 0.98 for class
 * "present"). Elsewhere it is small:
 *   - over noise a window scores sum(w * u) with u in [-0.2, 0.2]: std 0.46, max over 625 windows ~1.5;
 *   - a window half on the pattern scores at most 2 * 0.8 + noise, as the largest shifted correlation of
 *     the pattern with itself is 2 (of 16);
 * so the threshold 4.5 separates them.
 * Why the fills cannot fake the pattern: every row and column of the pattern sums to 0, so a constant fill
 * over a straight cut of a window (the edge of a box, of a sliding square) adds c * 0; over a corner cut it
 * adds at most c * 2 (the largest corner sum), partly cancelled by the visible part (~0.5 * -2): far
 * from 4.5. What each mode needs, so why every mode has a local answer:
 *   - fill:min (0.1, the dark value) and fill:zero reproduce the dark half: the 8 bright pixels suffice;
 *   - fill:max (0.9) reproduces the bright half: the dark pixels suffice;
 *   - fill:mean (~0.5): both halves are needed in part;
 *   - ad strict: a Conv position is active only when its whole window is visible: all 16 pixels;
 *   - ad ratio:0.5: the position stays active with up to 8 of 16 hidden and reads them as they are.
 * In all of them the explanation is a subset of the pattern, and nothing outside it can pass.
 * Checks: the responsibility maximum lies on the pattern, and >= 80% of the explanation's pixels lie in the
 * pattern's box dilated by 1 px. Everything runs with the default parameters (extraction refined to the
 * pixel: with 2% chunks alone, 16 px at 28x28, the size would be quantised to the pattern's own size). For
 * sliding the maximum may lie 1 px off the pattern: with stride 2, a pixel next to the pattern can be covered
 * only by windows that also cover the pattern, so its mean drop ties with the pattern's up to noise. The
 * corners are the hard positions for rex: boxes there are cut into thin slices of the pattern. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/explain.h"
#include "common/testutil.h"
#include "tiny_graphs.h"

#define S 28
#define HW (S * S)

static const char *const modes[][2] = {{"ad", "strict"},    {"ad", "ratio:0.5"}, {"fill:zero", NULL},
                                       {"fill:mean", NULL}, {"fill:min", NULL},  {"fill:max", NULL}};
#define NMODES (int)(sizeof modes / sizeof modes[0])

static void make_image(uint64_t seed, int py, int px, float *img) {
  adx_rng r;
  adx_rng_seed(&r, seed);
  for (int i = 0; i < HW; i++) img[i] = (float)(0.3 + 0.4 * adx_rng_uniform(&r));
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) img[(py + y) * S + px + x] = TG_PATTERN[y * 4 + x] > 0 ? 0.9f : 0.1f;
}

static void set_mode(int mi, adx_mode *m) {
  TU_OK(adx_mode_parse(modes[mi][0], m, err));
  if (modes[mi][1]) TU_OK(adx_ad_parse_rule(modes[mi][1], &m->ad, err));
  m->seed = 1;
}

static void check_local(adx_explainer_kind kind) {
  adx_graph *g = tg_pattern_model(S, 2.0f, 4.5f);
  adx_engine *e;
  TU_OK(adx_engine_create(g, 2, &e, err));
  adx_norm n;
  adx_norm_identity(&n);
  adx_explainer x;
  adx_explainer_default(&x);
  x.kind = kind;
  int pos[][2] = {{0, 0}, {24, 24}, {0, 24}, {-1, -1}, {-1, -1}, {-1, -1}};
  adx_rng r;
  adx_rng_seed(&r, 2024);
  float img[HW], map[HW];
  int32_t order[HW];
  uint8_t expl[HW];
  int bad = 0;
  int npos =
      getenv("ADX_VALGRIND") ? 2 : (int)(sizeof pos / sizeof pos[0]); /* valgrind: memory, not breadth */
  for (int pi = 0; pi < npos; pi++) {
    int py = pos[pi][0] >= 0 ? pos[pi][0] : (int)adx_rng_below(&r, S - 3);
    int px = pos[pi][1] >= 0 ? pos[pi][1] : (int)adx_rng_below(&r, S - 3);
    make_image(100 + (uint64_t)pi, py, px, img);
    for (int mi = 0; mi < NMODES; mi++) {
      adx_mode m;
      set_mode(mi, &m);
      adx_oracle o;
      TU_OK(adx_oracle_init(&o, e, &m, &n, img, 64, err));
      if (o.full[1] < 0.95f) fail_msg("the planted pattern is not detected (p = %g)", (double)o.full[1]);
      TU_OK(adx_explain_responsibility(&x, &o, 1, 7 + (uint64_t)pi, map, err));
      adx_rank_pixels(map, S, S, order);
      int size = 0;
      float pe = 0;
      TU_OK(adx_explainer_extract(&x, &o, 1, order, o.full[1], expl, &size, &pe, err));
      int ay = order[0] / S, ax = order[0] % S, inside = 0, count = 0;
      for (int i = 0; i < HW; i++) {
        if (!expl[i]) continue;
        int y = i / S, xx = i % S;
        count++;
        inside += y >= py - 1 && y <= py + 4 && xx >= px - 1 && xx <= px + 4;
      }
      const char *name = adx_explainer_name(kind);
      if (count != size) fail_msg("%s: size %d but %d pixels set", name, size, count);
      int slack = kind == ADX_EXPLAINER_SLIDING; /* the occlusion map's resolution is the stride (see top) */
      if (!(ay >= py - slack && ay < py + 4 + slack && ax >= px - slack && ax < px + 4 + slack) && ++bad)
        print_error("%s %s%s%s, pattern at (%d,%d): responsibility maximum at (%d,%d)\n", name, modes[mi][0],
                    modes[mi][1] ? " " : "", modes[mi][1] ? modes[mi][1] : "", py, px, ay, ax);
      if (inside < 0.8 * size && ++bad)
        print_error("%s %s%s%s, pattern at (%d,%d): only %d of %d explanation pixels on the pattern\n", name,
                    modes[mi][0], modes[mi][1] ? " " : "", modes[mi][1] ? modes[mi][1] : "", py, px, inside,
                    size);
      if (getenv("ADX_TEST_VERBOSE"))
        fprintf(stderr, "%-7s %-9s %-9s (%2d,%2d): size %3d inside %3d p %.3f queries %lld\n", name,
                modes[mi][0], modes[mi][1] ? modes[mi][1] : "", py, px, size, inside, (double)pe,
                (long long)o.queries);
      adx_oracle_free(&o);
    }
  }
  adx_engine_free(e);
  adx_graph_free(g);
  if (bad) fail_msg("%d failures", bad);
}

static void test_rex_finds_pattern(void **state) { check_local(ADX_EXPLAINER_REX); }
static void test_sliding_finds_pattern(void **state) { check_local(ADX_EXPLAINER_SLIDING); }

/* The test can fail: with the pattern absent (noise only) the model says "absent", and explaining class 1
 * anyway finds no sufficient subset, so the explanation is the whole image (fails the locality check). */
static void test_no_pattern_no_explanation(void **state) {
  adx_graph *g = tg_pattern_model(S, 2.0f, 4.5f);
  adx_engine *e;
  TU_OK(adx_engine_create(g, 1, &e, err));
  adx_norm n;
  adx_norm_identity(&n);
  adx_explainer x;
  adx_explainer_default(&x);
  float img[HW], map[HW];
  adx_rng r;
  adx_rng_seed(&r, 5);
  for (int i = 0; i < HW; i++) img[i] = (float)(0.3 + 0.4 * adx_rng_uniform(&r));
  for (int mi = 0; mi < NMODES; mi++) {
    adx_mode m;
    set_mode(mi, &m);
    adx_oracle o;
    TU_OK(adx_oracle_init(&o, e, &m, &n, img, 64, err));
    assert_true(o.full[1] < 0.05f);
    TU_OK(adx_explain_responsibility(&x, &o, 1, 1, map, err));
    for (int i = 0; i < HW; i++) assert_float_equal(map[i], 0.0, 0); /* no mutant ever passes */
    int32_t order[HW];
    uint8_t expl[HW];
    int size;
    adx_rank_pixels(map, S, S, order);
    TU_OK(adx_extract(&o, 1, order, o.full[1], 0.0f, 50, expl, &size, NULL, err));
    assert_int_equal(size, HW);
    adx_oracle_free(&o);
  }
  adx_engine_free(e);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rex_finds_pattern),
      cmocka_unit_test(test_sliding_finds_pattern),
      cmocka_unit_test(test_no_pattern_no_explanation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
