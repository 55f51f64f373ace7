/* Explainer units against hand-derived answers: the oracle (softmax, splitting, counting), pixel ranking
 * tie-breaks, extraction on a model whose confidence is a known function of the visible fraction, the exact
 * credit arithmetic of rex and sliding on that model, and parameter validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/explain.h"
#include "common/testutil.h"
#include "tiny_graphs.h"

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* A fraction model with an all-ones image under fill:zero: p(class 1) = sigmoid(a * (visible/HW - t)). */
typedef struct fr {
  adx_graph *g;
  adx_engine *e;
  float *raw;
  adx_oracle o;
  int H, W;
  float a, t;
} fr;

static void fr_open(fr *f, int H, int W, float a, float t, int max_batch) {
  memset(f, 0, sizeof *f);
  f->H = H;
  f->W = W;
  f->a = a;
  f->t = t;
  f->g = tg_fraction_model(H, W, a, t);
  TU_OK(adx_engine_create(f->g, 1, &f->e, err));
  f->raw = malloc(sizeof(float) * (size_t)(H * W));
  for (int i = 0; i < H * W; i++) f->raw[i] = 1.0f;
  adx_mode m;
  adx_norm n;
  TU_OK(adx_mode_parse("fill:zero", &m, err));
  adx_norm_identity(&n);
  TU_OK(adx_oracle_init(&f->o, f->e, &m, &n, f->raw, max_batch, err));
}

static void fr_close(fr *f) {
  adx_oracle_free(&f->o);
  adx_engine_free(f->e);
  adx_graph_free(f->g);
  free(f->raw);
}

static double fr_p(const fr *f, int visible) {
  return sigmoid((double)f->a * ((double)visible / (f->H * f->W) - (double)f->t));
}

/* ---- oracle ---- */
/* The answer cache: repeats (within one call and across calls) are not evaluated again, every mask is
 * still counted in queries, answers are the evaluated ones bit for bit, and one flipped pixel is a miss. */
static void test_oracle_cache(void **state) {
  fr f;
  fr_open(&f, 10, 10, 20.0f, 0.35f, 4);
  enum { HW = 100 };
  /* visible counts: m0 10, m1 30, m2 50, m3 70, m4 = m0 with one more pixel visible (11) */
  uint8_t m[5][HW], ask[5 * HW], ones[HW];
  const int vis[5] = {10, 30, 50, 70, 11};
  for (int k = 0; k < 5; k++)
    for (int i = 0; i < HW; i++) m[k][i] = i < vis[k];
  memset(ones, 1, HW);
  float p[5 * 2];
  const int order1[5] = {0, 1, 0, 2, 1};
  for (int b = 0; b < 5; b++) memcpy(ask + b * HW, m[order1[b]], HW);
  TU_OK(adx_oracle_ask(&f.o, ask, 5, p, err));
  assert_int_equal(f.o.queries, 5);
  assert_int_equal(f.o.evaluated, 3);
  for (int b = 0; b < 5; b++) assert_float_equal(p[2 * b + 1], fr_p(&f, vis[order1[b]]), 1e-5);
  assert_memory_equal(p + 0, p + 4, 2 * sizeof(float)); /* row 2 repeats row 0 */
  assert_memory_equal(p + 2, p + 8, 2 * sizeof(float)); /* row 4 repeats row 1 */
  float first2[2];
  memcpy(first2, p + 6, sizeof first2);
  /* across calls: m2 is cached, the all-visible mask was seeded by init, m3 and m4 are new */
  memcpy(ask, m[2], HW);
  memcpy(ask + HW, ones, HW);
  memcpy(ask + 2 * HW, m[3], HW);
  memcpy(ask + 3 * HW, m[4], HW);
  TU_OK(adx_oracle_ask(&f.o, ask, 4, p, err));
  assert_int_equal(f.o.queries, 9);
  assert_int_equal(f.o.evaluated, 5);
  assert_memory_equal(p, first2, sizeof first2);
  assert_memory_equal(p + 2, f.o.full, 2 * sizeof(float));
  assert_float_equal(p[5], fr_p(&f, 70), 1e-5);
  assert_float_equal(p[7], fr_p(&f, 11), 1e-5);
  assert_true(p[7] != fr_p(&f, 10) || p[7] != p[1]);
  /* a second oracle without history evaluates m4 to the same bits */
  fr g;
  fr_open(&g, 10, 10, 20.0f, 0.35f, 4);
  float q[2];
  TU_OK(adx_oracle_ask(&g.o, m[4], 1, q, err));
  assert_int_equal(g.o.evaluated, 1);
  assert_memory_equal(q, p + 6, sizeof q);
  fr_close(&g);
  fr_close(&f);
}

static void test_oracle(void **state) {
  fr f;
  fr_open(&f, 10, 10, 20.0f, 0.35f, 5);
  assert_int_equal(f.o.nclasses, 2);
  assert_int_equal(f.o.C, 1);
  assert_int_equal(f.o.max_batch, 5);
  assert_int_equal(f.o.queries, 0); /* the init probe is not a mutant */
  assert_float_equal(f.o.full[1], fr_p(&f, 100), 1e-6);
  assert_float_equal(f.o.full[0] + f.o.full[1], 1.0, 1e-6);
  enum { B = 23 };
  uint8_t masks[B * 100];
  float p[B * 2];
  for (int b = 0; b < B; b++)
    for (int i = 0; i < 100; i++) masks[b * 100 + i] = i < b * 4;
  TU_OK(adx_oracle_ask(&f.o, masks, B, p, err));
  assert_int_equal(f.o.queries, B); /* split 5+5+5+5+3, counted per mutant */
  for (int b = 0; b < B; b++) {
    assert_float_equal(p[2 * b + 1], fr_p(&f, 4 * b), 1e-5);
    assert_float_equal(p[2 * b], 1.0 - fr_p(&f, 4 * b), 1e-5);
  }
  /* the last engine call's rows stay in o->probs */
  assert_memory_equal(f.o.probs, p + 20 * 2, 3 * 2 * sizeof(float));
  TU_OK(adx_oracle_ask(&f.o, masks, 0, p, err));
  assert_int_equal(f.o.queries, B);
  adx_error e = {0};
  assert_int_equal(adx_oracle_ask(&f.o, masks, -1, p, &e), ADX_ERR_ARG);
  /* a huge logit must not overflow the softmax: a = 2000 gives logits up to 1300 */
  fr_close(&f);
  fr_open(&f, 10, 10, 2000.0f, 0.35f, 0);
  assert_int_equal(f.o.max_batch, ADX_ORACLE_DEFAULT_BATCH);
  assert_float_equal(f.o.full[1], 1.0, 0);
  assert_float_equal(f.o.full[0], 0.0, 1e-30);
  TU_OK(adx_oracle_ask(&f.o, masks, 2, p, err)); /* 0 and 4 visible: logit -700, -620 */
  assert_float_equal(p[0], 1.0, 0);
  assert_true(isfinite(p[1]) && p[1] >= 0 && p[1] < 1e-30);
  fr_close(&f);
}

/* ---- ranking ---- */
static void test_rank_ties(void **state) {
  /* distinct values: plain descending order */
  float a[6] = {0.1f, 0.5f, -1.0f, 2.0f, 0.0f, 0.3f};
  int32_t o[9];
  adx_rank_pixels(a, 2, 3, o);
  int32_t ea[6] = {3, 1, 5, 0, 4, 2};
  assert_memory_equal(o, ea, sizeof ea);
  /* a 3x3 map with one peak: the ties at 0 go by distance to the peak (4-neighbours, then corners),
   * equal distances by index */
  float b[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  adx_rank_pixels(b, 3, 3, o);
  int32_t eb[9] = {4, 1, 3, 5, 7, 0, 2, 6, 8};
  assert_memory_equal(o, eb, sizeof eb);
  /* two maxima: the first in index order anchors the distances */
  float c[5] = {2, 0, 2, 0, 0};
  adx_rank_pixels(c, 1, 5, o);
  int32_t ec[5] = {0, 2, 1, 3, 4};
  assert_memory_equal(o, ec, sizeof ec);
  /* anchor in the middle of a row of ties: 1x5, max at index 3 */
  float d[5] = {1, 1, 1, 5, 1};
  adx_rank_pixels(d, 1, 5, o);
  int32_t ed[5] = {3, 2, 4, 1, 0};
  assert_memory_equal(o, ed, sizeof ed);
  /* an all-equal 2x2 map: anchor index 0, then distance 1 (1, 2), then 3 */
  float e[4] = {7, 7, 7, 7};
  adx_rank_pixels(e, 2, 2, o);
  int32_t ee[4] = {0, 1, 2, 3};
  assert_memory_equal(o, ee, sizeof ee);
}

/* ---- extraction ---- */
/* refine: -1 plain adx_extract, 0/1 through adx_explainer_extract with that setting, 2 adx_extract_refined */
static void check_extract(fr *f, int chunks, float conf, int refine, int want_size, int want_queries) {
  int32_t order[100];
  uint8_t expl[100];
  /* a ranking that is not index order: reverse */
  for (int i = 0; i < 100; i++) order[i] = 99 - i;
  int size = -1;
  float pe = -1;
  int64_t q0 = f->o.queries;
  if (refine < 0) {
    TU_OK(adx_extract(&f->o, 1, order, f->o.full[1], conf, chunks, expl, &size, &pe, err));
  } else if (refine == 2) {
    TU_OK(adx_extract_refined(&f->o, 1, order, f->o.full[1], conf, chunks, expl, &size, &pe, err));
  } else {
    adx_explainer x;
    adx_explainer_default(&x);
    x.confidence = conf;
    x.chunks = chunks;
    x.refine = refine;
    TU_OK(adx_explainer_extract(&x, &f->o, 1, order, f->o.full[1], expl, &size, &pe, err));
  }
  assert_int_equal(f->o.queries - q0, want_queries);
  assert_int_equal(size, want_size);
  for (int i = 0; i < 100; i++) assert_int_equal(expl[i], i >= 100 - want_size);
  assert_float_equal(pe, fr_p(f, want_size), 1e-5);
}

static void test_extract(void **state) {
  fr f;
  fr_open(&f, 10, 10, 20.0f, 0.35f, 4);
  /* chunks 10: candidates 10, 20, ..., 100 pixels; class 1 is top-1 once the fraction exceeds 0.35 */
  check_extract(&f, 10, 0.0f, -1, 40, 10);
  check_extract(&f, 10, 0.0f, 0, 40, 10);
  /* refined: the sizes 31..39 in a second batch -> 36, the first fraction above 0.35 */
  check_extract(&f, 10, 0.0f, 1, 36, 10 + 9);
  check_extract(&f, 10, 0.0f, 2, 36, 10 + 9);
  /* confidence 0.9: sigmoid(20*(f-0.35)) >= 0.9*p_full needs f >= 0.4599, so 50 (sigmoid(3) = 0.953);
   * refined: 46 (sigmoid(2.2) = 0.9002 passes, sigmoid(2.0) = 0.881 does not) */
  check_extract(&f, 10, 0.9f, -1, 50, 10);
  check_extract(&f, 10, 0.9f, 1, 46, 10 + 9);
  /* chunks 7: candidates ceil(k*100/7) = 15, 29, 43, 58, 72, 86, 100 -> 43; refined over 30..42 -> 36 */
  check_extract(&f, 7, 0.0f, -1, 43, 7);
  check_extract(&f, 7, 0.0f, 1, 36, 7 + 13);
  /* chunks = every pixel: the first fraction above 0.35 is 36 pixels; nothing left to refine */
  check_extract(&f, 100, 0.0f, -1, 36, 100);
  check_extract(&f, 100, 0.0f, 1, 36, 100);
  /* chunks 1: the whole image passes; refined over 1..99 -> 36 */
  check_extract(&f, 1, 0.0f, 1, 36, 1 + 99);
  fr_close(&f);
  /* the first chunk passes (t = -1): refined over 1..9 -> a single pixel */
  fr_open(&f, 10, 10, 20.0f, -1.0f, 64);
  check_extract(&f, 10, 0.0f, 1, 1, 10 + 9);
  fr_close(&f);
  /* nothing suffices (t above 1): the whole image, with its own probability, and nothing to refine */
  fr_open(&f, 10, 10, 20.0f, 1.5f, 64);
  check_extract(&f, 10, 0.0f, -1, 100, 10);
  check_extract(&f, 10, 0.0f, 1, 100, 10);
  int32_t order[100];
  uint8_t expl[100];
  for (int i = 0; i < 100; i++) order[i] = i;
  adx_error e = {0};
  assert_int_equal(adx_extract(&f.o, 1, order, 1.0f, 0.0f, 0, expl, NULL, NULL, &e), ADX_ERR_ARG);
  assert_int_equal(adx_extract(&f.o, 1, order, 1.0f, 0.0f, 101, expl, NULL, NULL, &e), ADX_ERR_ARG);
  assert_int_equal(adx_extract(&f.o, 2, order, 1.0f, 0.0f, 10, expl, NULL, NULL, &e), ADX_ERR_ARG);
  assert_int_equal(adx_extract(&f.o, 1, order, 1.0f, 1.5f, 10, expl, NULL, NULL, &e), ADX_ERR_ARG);
  order[5] = 100;
  assert_int_equal(adx_extract(&f.o, 1, order, 1.0f, 0.0f, 10, expl, NULL, NULL, &e), ADX_ERR_ARG);
  fr_close(&f);
}

/* ---- rex credit arithmetic ---- */
static void rex_run(fr *f, int iters, int depth, int min_box, int limit, float cf, uint64_t seed,
                    float *map) {
  adx_explainer x;
  adx_explainer_default(&x);
  x.rex.iters = iters;
  x.rex.tree_depth = depth;
  x.rex.min_box = min_box;
  x.rex.search_limit = limit;
  x.rex.confidence_filter = cf;
  TU_OK(adx_explain_responsibility(&x, &f->o, 1, seed, map, err));
}

static void test_rex_credit(void **state) {
  float map[100];
  fr f;
  /* t = -1: every mutant keeps class 1. One level: each child is in 1 single (1), 3 pairs (1/2 each) and
   * 3 triples (1/3 each): 3.5 per pixel per iteration, wherever the split falls. */
  fr_open(&f, 10, 10, 20.0f, -1.0f, 64);
  rex_run(&f, 3, 1, 2, 0, 0, 1, map);
  for (int i = 0; i < 100; i++) assert_float_equal(map[i], 10.5, 0);
  assert_int_equal(f.o.queries, 3 * 14);
  fr_close(&f);
  /* 300 iterations at 128x128 exceed rex's 64 MiB mask budget per request (4096 masks): a round is asked in
   * parts, and every iteration must still get its own answers */
  fr_open(&f, 128, 128, 20.0f, -1.0f, 512);
  float *big = malloc(sizeof(float) * 128 * 128);
  rex_run(&f, 300, 1, 2, 0, 0, 1, big);
  for (int i = 0; i < 128 * 128; i++) assert_float_equal(big[i], 1050.0, 0);
  assert_int_equal(f.o.queries, 300 * 14);
  free(big);
  fr_close(&f);
  fr_open(&f, 10, 10, 20.0f, -1.0f, 64);
  /* search_limit 14: one step per iteration however deep the tree may go */
  f.o.queries = 0;
  rex_run(&f, 2, 10, 2, 14, 0, 1, map);
  for (int i = 0; i < 100; i++) assert_float_equal(map[i], 7.0, 0);
  assert_int_equal(f.o.queries, 2 * 14);
  /* min_box 5 on 10x10: the only split point is (5,5) and 5x5 children cannot split again */
  f.o.queries = 0;
  rex_run(&f, 4, 10, 5, 0, 0, 9, map);
  for (int i = 0; i < 100; i++) assert_float_equal(map[i], 14.0, 0);
  assert_int_equal(f.o.queries, 4 * 14);
  /* Two levels, one iteration: the search descends into the smallest passing mutant, a single child (p grows
   * with the visible area, so equal areas tie on p too and the lowest index wins). Splitting that child
   * credits its pixels again: 3.5 more when both its sides are >= 2*min_box (4 children, 14 mutants), 1 more
   * when only one is (2 children, 2 mutants, each single passes), nothing when neither is. So the map is 3.5
   * everywhere plus that extra on the smallest child of the root, a rectangle at an image corner which
   * determines the other 3 children. */
  int seen[3] = {0, 0, 0};
  for (uint64_t seed = 1; seed <= 40; seed++) {
    f.o.queries = 0;
    rex_run(&f, 1, 2, 2, 0, 0, seed, map);
    if (f.o.queries == 14) {
      for (int i = 0; i < 100; i++) assert_float_equal(map[i], 3.5, 0);
      seen[0]++;
      continue;
    }
    assert_true(f.o.queries == 16 || f.o.queries == 28);
    float hi = f.o.queries == 28 ? 7.0f : 4.5f;
    seen[f.o.queries == 28 ? 2 : 1]++;
    int y0 = 10, y1 = 0, x0 = 10, x1 = 0, nhi = 0;
    for (int i = 0; i < 100; i++) {
      assert_true(map[i] == 3.5f || map[i] == hi);
      if (map[i] == hi) {
        int y = i / 10, x = i % 10;
        nhi++;
        y0 = y < y0 ? y : y0;
        y1 = y + 1 > y1 ? y + 1 : y1;
        x0 = x < x0 ? x : x0;
        x1 = x + 1 > x1 ? x + 1 : x1;
      }
    }
    assert_int_equal(nhi, (y1 - y0) * (x1 - x0)); /* a rectangle */
    assert_true((y0 == 0 || y1 == 10) && (x0 == 0 || x1 == 10));
    int h = y1 - y0, w = x1 - x0;
    assert_true(h >= 2 && w >= 2 && h <= 8 && w <= 8);
    if (hi == 7.0f)
      assert_true(h >= 4 && w >= 4);
    else
      assert_true((h >= 4) != (w >= 4));
    int ys = y0 == 0 ? y1 : y0, xs = x0 == 0 ? x1 : x0;
    int area[4] = {ys * xs, ys * (10 - xs), (10 - ys) * xs, (10 - ys) * (10 - xs)};
    int chosen = (y0 == 0 ? 0 : 2) + (x0 == 0 ? 0 : 1), best = 0;
    for (int c = 1; c < 4; c++)
      if (area[c] < area[best]) best = c;
    assert_int_equal(chosen, best);
  }
  assert_true(seen[0] > 0 && seen[1] > 0 && seen[2] > 0); /* all three cases were exercised */
  fr_close(&f);
  /* confidence_filter 1: no mutant reaches p_full, so no group is credited and the search stops at once */
  fr_open(&f, 10, 10, 20.0f, 0.35f, 64);
  rex_run(&f, 2, 10, 2, 0, 1.0f, 1, map);
  for (int i = 0; i < 100; i++) assert_float_equal(map[i], 0.0, 0);
  assert_int_equal(f.o.queries, 2 * 14);
  fr_close(&f);
  /* nothing ever passes (t > 1): no credit, one step per iteration */
  fr_open(&f, 10, 10, 20.0f, 1.5f, 64);
  rex_run(&f, 3, 10, 2, 0, 0, 1, map);
  for (int i = 0; i < 100; i++) assert_float_equal(map[i], 0.0, 0);
  assert_int_equal(f.o.queries, 3 * 14);
  fr_close(&f);
}

/* ---- sliding ---- */
static void test_sliding_hand(void **state) {
  adx_explainer x;
  adx_explainer_default(&x);
  assert_int_equal(adx_explainer_parse("sliding", &x, NULL), ADX_OK);
  float map[81];
  fr f;
  /* 8x8, window 4, stride 4/2 = 2: origins 0,2,4 -> 9 windows of 16 px each */
  fr_open(&f, 8, 8, 20.0f, 0.35f, 4);
  x.sliding.window = 4;
  TU_OK(adx_explain_responsibility(&x, &f.o, 1, 0, map, err));
  assert_int_equal(f.o.queries, 9);
  double want = (double)f.o.full[1] - fr_p(&f, 48);
  for (int i = 0; i < 64; i++) assert_float_equal(map[i], want, 1e-6);
  fr_close(&f);
  /* 9x9, window 4, stride 2: origins 0,2,4 and the flush 5 -> 16 windows */
  fr_open(&f, 9, 9, 20.0f, 0.5f, 64);
  TU_OK(adx_explain_responsibility(&x, &f.o, 1, 0, map, err));
  assert_int_equal(f.o.queries, 16);
  want = (double)f.o.full[1] - fr_p(&f, 81 - 16);
  for (int i = 0; i < 81; i++) assert_float_equal(map[i], want, 1e-6);
  fr_close(&f);
  /* defaults at 28x28: window 4, stride 2 -> 13 x 13 positions */
  assert_int_equal(adx_sliding_window(28, 28), 4);
  assert_int_equal(adx_sliding_window(10, 10), 2);
  assert_int_equal(adx_sliding_window(224, 224), 32);
}

/* ---- parameters ---- */
static void expect_arg(adx_status s, const adx_error *e, const char *needle) {
  assert_int_equal(s, ADX_ERR_ARG);
  if (!strstr(e->msg, needle)) fail_msg("error '%s' does not name '%s'", e->msg, needle);
}

static void test_params(void **state) {
  adx_explainer x, d;
  adx_error e = {0};
  adx_explainer_default(&d);
  assert_int_equal(d.kind, ADX_EXPLAINER_REX);
  assert_int_equal(d.rex.iters, 20);
  assert_int_equal(d.rex.tree_depth, 10);
  assert_int_equal(d.chunks, 50);
  assert_int_equal(d.refine, 1);
  assert_float_equal(d.confidence, 0.0, 0);
  assert_int_equal(adx_explainer_check(&d, 28, 28, &e), ADX_OK);
  assert_int_equal(adx_explainer_check(&d, 224, 224, &e), ADX_OK);
  assert_int_equal(adx_rex_min_box(28, 28), 2);
  assert_int_equal(adx_rex_min_box(224, 224), 10);
  assert_int_equal(adx_rex_min_box(64, 100), 3); /* round(2.857) */
  assert_int_equal(adx_rex_min_box(4, 4), 2);

  x = d, x.rex.iters = 0;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "iters");
  x = d, x.rex.tree_depth = -1;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "tree_depth");
  x = d, x.rex.min_box = 15;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "min_box_size");
  x = d, x.rex.min_box = 14; /* 14 + 14 = 28: the root still splits */
  assert_int_equal(adx_explainer_check(&x, 28, 28, &e), ADX_OK);
  x = d, x.rex.min_box = -3;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "min_box_size");
  x = d, x.rex.search_limit = 5;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "search_limit");
  x = d, x.rex.search_limit = -1;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "search_limit");
  x = d, x.rex.confidence_filter = 1.5f;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "confidence_filter");
  x = d, x.confidence = -0.1f;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "confidence");
  x = d, x.chunks = 0;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "chunks");
  x = d, x.chunks = 785;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "chunks");
  x = d, x.kind = ADX_EXPLAINER_SLIDING, x.sliding.window = 29;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "window");
  x = d, x.kind = ADX_EXPLAINER_SLIDING, x.sliding.stride = -2;
  expect_arg(adx_explainer_check(&x, 28, 28, &e), &e, "stride");
  /* a rex-only error does not block sliding, and the reverse */
  x = d, x.kind = ADX_EXPLAINER_SLIDING, x.rex.iters = 0;
  assert_int_equal(adx_explainer_check(&x, 28, 28, &e), ADX_OK);

  x = d;
  expect_arg(adx_explainer_parse("lime", &x, &e), &e, "lime");
  TU_OK(adx_explainer_parse("sliding", &x, err));
  assert_int_equal(x.kind, ADX_EXPLAINER_SLIDING);
  TU_OK(adx_explainer_parse("rex", &x, err));
  assert_int_equal(x.kind, ADX_EXPLAINER_REX);
  assert_string_equal(adx_explainer_name(ADX_EXPLAINER_SLIDING), "sliding");

  TU_OK(adx_explainer_set(&x, "iters", "7", err));
  TU_OK(adx_explainer_set(&x, "tree_depth", "3", err));
  TU_OK(adx_explainer_set(&x, "min_box_size", "4", err));
  TU_OK(adx_explainer_set(&x, "search_limit", "140", err));
  TU_OK(adx_explainer_set(&x, "confidence_filter", "0.25", err));
  TU_OK(adx_explainer_set(&x, "window", "6", err));
  TU_OK(adx_explainer_set(&x, "stride", "3", err));
  TU_OK(adx_explainer_set(&x, "confidence", "0.5", err));
  TU_OK(adx_explainer_set(&x, "chunks", "100", err));
  TU_OK(adx_explainer_set(&x, "refine", "0", err));
  assert_int_equal(x.rex.iters, 7);
  assert_int_equal(x.rex.tree_depth, 3);
  assert_int_equal(x.rex.min_box, 4);
  assert_int_equal(x.rex.search_limit, 140);
  assert_float_equal(x.rex.confidence_filter, 0.25, 0);
  assert_int_equal(x.sliding.window, 6);
  assert_int_equal(x.sliding.stride, 3);
  assert_float_equal(x.confidence, 0.5, 0);
  assert_int_equal(x.chunks, 100);
  assert_int_equal(x.refine, 0);
  expect_arg(adx_explainer_set(&x, "refine", "2", &e), &e, "refine");
  assert_int_equal(x.refine, 0);
  expect_arg(adx_explainer_set(&x, "itres", "7", &e), &e, "itres");
  expect_arg(adx_explainer_set(&x, "iters", "7x", &e), &e, "iters");
  expect_arg(adx_explainer_set(&x, "iters", "", &e), &e, "iters");
  expect_arg(adx_explainer_set(&x, "confidence", "nan", &e), &e, "confidence");
  expect_arg(adx_explainer_set(&x, "chunks", "99999999999", &e), &e, "chunks");
  assert_int_equal(x.rex.iters, 7); /* a failed set leaves the value alone */

  /* the dispatch checks too, and names the target when it is out of range */
  fr f;
  fr_open(&f, 10, 10, 20.0f, 0.35f, 64);
  float map[100];
  x = d, x.rex.iters = 0;
  expect_arg(adx_explain_responsibility(&x, &f.o, 1, 0, map, &e), &e, "iters");
  expect_arg(adx_explain_responsibility(&d, &f.o, 2, 0, map, &e), &e, "target");
  assert_int_equal(f.o.queries, 0);
  fr_close(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oracle),     cmocka_unit_test(test_oracle_cache),
      cmocka_unit_test(test_rank_ties),  cmocka_unit_test(test_extract),
      cmocka_unit_test(test_rex_credit), cmocka_unit_test(test_sliding_hand),
      cmocka_unit_test(test_params),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
