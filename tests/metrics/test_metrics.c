/* Per-image metrics on hand-built models whose answers are known in closed form:
 *  - the "brightness" model x[N,1,4,4] -> Conv 1x1 (weight 1) -> GlobalAveragePool -> Flatten ->
 *    Gemm(B = [[a, 0]], C = [0, b]) gives logits [a*m, b], m = the mean normalised pixel.
 *    With an all-white image (raw 255, scale 1/255) and fill:zero or AD (1x1 windows, pool all), the
 *    mean is the visible fraction v/16, so p(class 0) = sigmoid(a*v/16 - b): insertion / deletion curves
 *    and confidence follow in closed form.
 *  - with a large a and b = a*thr, class 0 is top-1 iff the composite's mean brightness > thr: the
 *    outcome of every robustness paste is computed here from the seeded colours (replicating only the
 *    colour draw with adx_rng) and the hand-made context images.
 *  - the "map" model x -> Flatten -> Gemm sees *which* pixels are visible (a fixed weight per position):
 *    insertion, deletion, robustness@k and the pastes are computed by hand for the ranking given and for
 *    its reverse (which must differ), the seeded choice of context images among more eligible than K and
 *    the per-channel colour draw on 3 channels are replicated from docs/metrics.md;
 *  - an identity model reads back the model input of every fill mode, compared with numpy's
 *    (scripts/make_fill_reference.py -> tests/data/fill_ref_*.npy, never from adx's output).
 * Plus argument errors, determinism, and a smoke run on a fixture model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/io.h"
#include "adx/metrics.h"
#include "adx/model.h"
#include "common/testutil.h"
#include "common/attr.h"

#define HW 16

/* ---- the brightness model ---- */

static int const_value(adx_graph *g, const char *name, int ndim, const int64_t *dims, const float *v) {
  int id = adx_graph_value(g, name);
  TU_OK(adx_tensor_alloc(&g->values[id].cval, ADX_F32, ndim, dims, err));
  memcpy(g->values[id].cval.data, v, sizeof(float) * (size_t)adx_tensor_numel(&g->values[id].cval));
  adx_value_set(&g->values[id], ADX_F32, ndim, dims, 0);
  g->values[id].is_const = 1;
  return id;
}

static adx_graph *bright_model(float a, float b) {
  adx_graph *g = adx_graph_new();
  int x = adx_graph_value(g, "x"), y = adx_graph_value(g, "y"), p = adx_graph_value(g, "p");
  int f = adx_graph_value(g, "f"), o = adx_graph_value(g, "o");
  int64_t xd[4] = {1, 1, 4, 4}, wd[4] = {1, 1, 1, 1}, bd[2] = {1, 2}, cd[1] = {2};
  adx_value_set(&g->values[x], ADX_F32, 4, xd, 1);
  g->values[x].is_input = 1;
  float one = 1.0f, bw[2] = {a, 0.0f}, cb[2] = {0.0f, b};
  int w = const_value(g, "w", 4, wd, &one), gb = const_value(g, "gb", 2, bd, bw),
      gc = const_value(g, "gc", 1, cd, cb);
  adx_attr *ca = malloc(sizeof *ca);
  int64_t ks[2] = {1, 1};
  ca[0] = tu_attr_ints("kernel_shape", 2, ks);
  int cin[2] = {x, w}, gin[3] = {f, gb, gc};
  adx_graph_add_node(g, "conv", "Conv", 2, cin, 1, &y, 1, ca);
  adx_graph_add_node(g, "gap", "GlobalAveragePool", 1, &y, 1, &p, 0, NULL);
  adx_graph_add_node(g, "flat", "Flatten", 1, &p, 1, &f, 0, NULL);
  adx_graph_add_node(g, "gemm", "Gemm", 3, gin, 1, &o, 0, NULL);
  g->ninputs = g->noutputs = 1;
  g->inputs = malloc(sizeof(int));
  g->outputs = malloc(sizeof(int));
  g->inputs[0] = x;
  g->outputs[0] = o;
  g->values[o].is_output = 1;
  g->declared_batch = 1;
  TU_OK(adx_graph_prepare(g, err));
  return g;
}

typedef struct rig {
  adx_graph *g;
  adx_engine *e;
  adx_oracle mode, plain;
} rig;

static void rig_open(rig *r, float a, float b, const char *mode, const float *raw, int max_batch) {
  memset(r, 0, sizeof *r);
  r->g = bright_model(a, b);
  TU_OK(adx_engine_create(r->g, 1, &r->e, err));
  adx_norm norm;
  adx_norm_identity(&norm);
  norm.scale = 1.0f / 255.0f;
  adx_mode m, pm;
  TU_OK(adx_mode_parse(mode, &m, err));
  m.ad.pool = ADX_POOL_ALL;
  TU_OK(adx_mode_parse("plain", &pm, err));
  TU_OK(adx_oracle_init(&r->mode, r->e, &m, &norm, raw, max_batch, err));
  TU_OK(adx_oracle_init(&r->plain, r->e, &pm, &norm, raw, max_batch, err));
}

static void rig_close(rig *r) {
  adx_oracle_free(&r->mode);
  adx_oracle_free(&r->plain);
  adx_engine_free(r->e);
  adx_graph_free(r->g);
}

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* A fixed ranking: a permutation of the 16 pixels (7 is prime to 16). */
static void test_order(int32_t *order) {
  for (int i = 0; i < HW; i++) order[i] = (int32_t)((i * 7 + 3) % HW);
}

/* ---- confidence, drop-off, insertion / deletion ---- */
static void check_mode_metrics(const char *mode, int S, int max_batch) {
  const double a = 4.0;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  rig r;
  rig_open(&r, (float)a, 0.0f, mode, raw, max_batch);
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW] = {0};
  for (int i = 0; i < 5; i++) expl[order[i]] = 1; /* 5 visible pixels */
  double p_full = sigmoid(a);
  adx_metrics_params p;
  adx_metrics_params_default(&p);
  p.k_colour = p.k_context = 0;
  p.auc_steps = S;
  adx_metrics mt;
  memset(&mt, 0, sizeof mt);
  mt.seconds = 7.0f;
  mt.queries = 99;
  TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, (float)p_full, expl, order, NULL, &p, 1, &mt, err));
  assert_float_equal(mt.size, 5.0 / 16.0, 1e-7);
  double conf = sigmoid(a * 5.0 / 16.0);
  assert_float_equal(mt.confidence, conf, 1e-6);
  assert_float_equal(mt.drop_off, (p_full - conf) / p_full, 1e-6);
  /* closed-form curves: n_i = ceil(16 i / S) pixels revealed (insertion) or hidden (deletion) */
  double ins = 0, del = 0;
  for (int i = 0; i <= S; i++) {
    int n = (int)ceil(16.0 * i / S - 1e-9);
    double yi = sigmoid(a * n / 16.0) / p_full, yd = sigmoid(a * (16 - n) / 16.0) / p_full;
    double wgt = (i == 0 || i == S) ? 0.5 : 1.0;
    ins += wgt * yi / S;
    del += wgt * yd / S;
  }
  assert_float_equal(mt.insertion_auc, ins, 1e-6);
  assert_float_equal(mt.deletion_auc, del, 1e-6);
  /* K = 0 and no backgrounds: every robustness is undefined */
  assert_true(isnan(mt.robustness_colour));
  assert_true(isnan(mt.robustness_context));
  for (int j = 0; j < ADX_ROB_K; j++) assert_true(isnan(mt.robustness_at_k[j]));
  assert_int_equal(mt.metric_queries, 1 + 2 * (S + 1));
  /* the caller's fields are left alone */
  assert_float_equal(mt.seconds, 7.0, 0);
  assert_int_equal(mt.queries, 99);
  rig_close(&r);
}

static void test_auc_fill_zero(void **state) {
  (void)state;
  check_mode_metrics("fill:zero", 5, 0);  /* ceil matters: 0, 4, 7, 10, 13, 16 pixels */
  check_mode_metrics("fill:zero", 16, 3); /* one pixel per step; small engine batches */
  check_mode_metrics("fill:zero", 1, 0);  /* two points: nothing and everything */
}

static void test_auc_ad(void **state) {
  (void)state;
  check_mode_metrics("ad", 5, 0);
  check_mode_metrics("ad", 3, 4);
}

/* The insertion values at the ends are the model's own: all hidden -> sigmoid(0), all visible -> p_full.
 * A known sanity value: with S = 1 insertion = (0.5 + sigmoid(a)) / (2 sigmoid(a)). */
static void test_auc_two_points(void **state) {
  (void)state;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  rig r;
  rig_open(&r, 2.0f, 0.0f, "fill:zero", raw, 0);
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW];
  memset(expl, 1, HW);
  adx_metrics_params p = {.k_colour = 0, .k_context = 0, .auc_steps = 1};
  adx_metrics mt;
  float pf = (float)sigmoid(2.0);
  TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, pf, expl, order, NULL, &p, 1, &mt, err));
  assert_float_equal(mt.insertion_auc, (0.5 + sigmoid(2.0)) / (2 * sigmoid(2.0)), 1e-6);
  assert_float_equal(mt.deletion_auc, (0.5 + sigmoid(2.0)) / (2 * sigmoid(2.0)), 1e-6);
  assert_float_equal(mt.size, 1.0, 0);
  assert_float_equal(mt.drop_off, 0.0, 1e-6);
  rig_close(&r);
}

/* ---- models that see positions ----
 * The "map" model: x[N,C,H,W] -> Flatten -> Gemm(B [CHW, 2] = [w | 0], C = [0, b]): logits [w . x, b], x the
 * normalised input. Which pixels are visible, and where, changes the answer: a reversed or ignored ranking,
 * a paste at the wrong pixels or a colour drawn for the wrong channel each give a different, computed
 * value. Class 0 is top-1 iff w . x > b. */
static adx_graph *map_model(int C, int H, int W, const double *w, double b) {
  adx_graph *g = adx_graph_new();
  int x = adx_graph_value(g, "x"), f = adx_graph_value(g, "f"), o = adx_graph_value(g, "o");
  int n = C * H * W;
  int64_t xd[4] = {1, C, H, W}, bd[2] = {n, 2}, cd[1] = {2};
  adx_value_set(&g->values[x], ADX_F32, 4, xd, 1);
  g->values[x].is_input = 1;
  float *bw = calloc((size_t)n * 2, sizeof(float)), cb[2] = {0.0f, (float)b};
  for (int i = 0; i < n; i++) bw[i * 2] = (float)w[i];
  int gb = const_value(g, "gb", 2, bd, bw), gc = const_value(g, "gc", 1, cd, cb);
  free(bw);
  int gin[3] = {f, gb, gc};
  adx_graph_add_node(g, "flat", "Flatten", 1, &x, 1, &f, 0, NULL);
  adx_graph_add_node(g, "gemm", "Gemm", 3, gin, 1, &o, 0, NULL);
  g->ninputs = g->noutputs = 1;
  g->inputs = malloc(sizeof(int));
  g->outputs = malloc(sizeof(int));
  g->inputs[0] = x;
  g->outputs[0] = o;
  g->values[o].is_output = 1;
  g->declared_batch = 1;
  TU_OK(adx_graph_prepare(g, err));
  return g;
}

static void map_open(rig *r, int C, const double *w, double b, const char *mode, const float *raw) {
  memset(r, 0, sizeof *r);
  r->g = map_model(C, 4, 4, w, b);
  TU_OK(adx_engine_create(r->g, 1, &r->e, err));
  adx_norm norm;
  adx_norm_identity(&norm);
  norm.scale = 1.0f / 255.0f;
  adx_mode m, pm;
  TU_OK(adx_mode_parse(mode, &m, err));
  TU_OK(adx_mode_parse("plain", &pm, err));
  TU_OK(adx_oracle_init(&r->mode, r->e, &m, &norm, raw, 0, err));
  TU_OK(adx_oracle_init(&r->plain, r->e, &pm, &norm, raw, 0, err));
}

/* Pixel weights of the one-channel map: 16 distinct values, largest where test_order ranks first (as a
 * good explainer's ranking would be), so the ranking's direction matters. */
static void map_weights(double a, double *w) {
  int32_t order[HW];
  test_order(order);
  for (int j = 0; j < HW; j++) w[order[j]] = a * (double)(HW - j) / HW;
}

/* w . x for a white image (normalised 1) with the pixels `on` visible and the rest black (fill:zero). */
static double map_dot(const double *w, const int32_t *order, int n, int reversed) {
  double s = 0;
  for (int j = 0; j < n; j++) s += w[order[reversed ? HW - 1 - j : j]];
  return s;
}

/* Insertion and deletion follow the ranking: each curve point is the model's answer with exactly the top
 * n_i ranked pixels shown (insertion) or hidden (deletion); a reversed ranking gives other values. */
static void test_auc_sees_ranking(void **state) {
  (void)state;
  const double a = 3.0;
  double w[HW], total = 0;
  map_weights(a, w);
  for (int i = 0; i < HW; i++) total += w[i];
  const double b = total / 2;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  rig r;
  map_open(&r, 1, w, b, "fill:zero", raw);
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW] = {0};
  for (int i = 0; i < 5; i++) expl[order[i]] = 1;
  double p_full = sigmoid(total - b);
  assert_float_equal(r.plain.full[0], p_full, 1e-6);
  const int steps[3] = {4, 5, 16};
  for (int si = 0; si < 3; si++) {
    int S = steps[si];
    adx_metrics_params p = {.k_colour = 0, .k_context = 0, .auc_steps = S};
    adx_metrics mt;
    TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, (float)p_full, expl, order, NULL, &p, 1, &mt, err));
    assert_float_equal(mt.confidence, sigmoid(map_dot(w, order, 5, 0) - b), 1e-6);
    double ins[2] = {0, 0}, del[2] = {0, 0};
    for (int rev = 0; rev < 2; rev++)
      for (int i = 0; i <= S; i++) {
        int n = (int)ceil(16.0 * i / S - 1e-9);
        double wgt = (i == 0 || i == S) ? 0.5 : 1.0;
        double shown = map_dot(w, order, n, rev);
        ins[rev] += wgt * sigmoid(shown - b) / p_full / S;
        del[rev] += wgt * sigmoid(total - shown - b) / p_full / S;
      }
    /* the test can fail: the reversed ranking's curves are far from the true ones */
    assert_true(fabs(ins[0] - ins[1]) > 0.05 && fabs(del[0] - del[1]) > 0.05);
    assert_float_equal(mt.insertion_auc, ins[0], 1e-5);
    assert_float_equal(mt.deletion_auc, del[0], 1e-5);
    /* and by the same model, reversing the ranking given to adx gives the reversed values */
    int32_t rorder[HW];
    for (int i = 0; i < HW; i++) rorder[i] = order[HW - 1 - i];
    TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, (float)p_full, expl, rorder, NULL, &p, 1, &mt, err));
    assert_float_equal(mt.insertion_auc, ins[1], 1e-5);
    assert_float_equal(mt.deletion_auc, del[1], 1e-5);
  }
  rig_close(&r);
}

/* Robustness (colour, context, @k) on the map model: the white image's explanation or top-k ranked pixels
 * pasted onto grey backgrounds. Composite pixel i is white where pasted, else the background's grey g:
 * w . x = sum_pasted w_i + (g / 255) sum_other w_i. Colours are replicated from the documented draw. */
static double paste_dot(const double *w, const uint8_t *on, double grey) {
  double s = 0;
  for (int i = 0; i < HW; i++) s += on[i] ? w[i] : w[i] * grey / 255.0;
  return s;
}

static int map_wins(double dot, double b) {
  assert_true(fabs(dot - b) > 1e-3); /* clear of float ties */
  return dot > b;
}

static void test_robustness_sees_positions(void **state) {
  (void)state;
  double w[HW], total = 0;
  map_weights(4.0, w);
  for (int i = 0; i < HW; i++) total += w[i];
  const double b = 0.37 * total;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  rig r;
  map_open(&r, 1, w, b, "fill:zero", raw);
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW] = {0};
  const int ex[5] = {2, 7, 9, 12, 15};
  for (int i = 0; i < 5; i++) expl[ex[i]] = 1;
  enum { NB = 7 };
  const int lab[NB] = {1, 1, 1, 1, 1, 1, 1};
  const float grey[NB] = {0, 30, 60, 90, 120, 150, 40};
  float bgraw[NB * HW];
  for (int g = 0; g < NB; g++)
    for (int i = 0; i < HW; i++) bgraw[g * HW + i] = grey[g];
  adx_backgrounds bg = {.n = NB, .raw = bgraw, .label = lab};
  int reversed_differs = 0;
  for (uint64_t seed = 11; seed < 17; seed++) {
    const int kc = 12;
    adx_metrics_params p = {.k_colour = kc, .k_context = NB, .auc_steps = 2};
    adx_metrics mt;
    TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, &bg, &p, seed, &mt, err));
    double colour[16];
    adx_rng rng;
    adx_rng_seed(&rng, adx_seed_mix(seed, ADX_SEED_METRIC_COLOUR));
    for (int c = 0; c < kc; c++) colour[c] = (float)(255.0 * adx_rng_uniform(&rng));
    int hit = 0;
    for (int c = 0; c < kc; c++) hit += map_wins(paste_dot(w, expl, colour[c]), b);
    assert_float_equal(mt.robustness_colour, (double)hit / kc, 1e-7);
    hit = 0;
    for (int g = 0; g < NB; g++) hit += map_wins(paste_dot(w, expl, grey[g]), b);
    assert_float_equal(mt.robustness_context, (double)hit / NB, 1e-7);
    const int nk[ADX_ROB_K] = {1, 2, 4, 7};
    for (int j = 0; j < ADX_ROB_K; j++) {
      int h[2] = {0, 0};
      for (int rev = 0; rev < 2; rev++) {
        uint8_t on[HW] = {0};
        for (int i = 0; i < nk[j]; i++) on[order[rev ? HW - 1 - i : i]] = 1;
        for (int c = 0; c < kc; c++) h[rev] += map_wins(paste_dot(w, on, colour[c]), b);
        for (int g = 0; g < NB; g++) h[rev] += map_wins(paste_dot(w, on, grey[g]), b);
      }
      reversed_differs += h[0] != h[1];
      assert_float_equal(mt.robustness_at_k[j], (double)h[0] / (kc + NB), 1e-7);
    }
  }
  assert_true(reversed_differs >= 6); /* the test can fail: a reversed ranking changes robustness@k */
  rig_close(&r);
}

/* More eligible context images than K: the seeded partial Fisher-Yates of docs/metrics.md picks which.
 * Eleven backgrounds (two of the target's class, never used), nine eligible, each a distinct grey that
 * wins or loses on its own; K = 3. Replicated here with the documented stream. */
static void test_context_seeded_choice(void **state) {
  (void)state;
  double w[HW], total = 0;
  map_weights(4.0, w);
  for (int i = 0; i < HW; i++) total += w[i];
  const double b = 0.5 * total;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  rig r;
  map_open(&r, 1, w, b, "fill:zero", raw);
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW] = {0};
  for (int i = 0; i < 3; i++) expl[order[i]] = 1; /* a paste wins on a grey above 64.5 */
  enum { NB = 11, K = 3 };
  const int lab[NB] = {2, 0, 3, 4, 0, 5, 6, 7, 8, 9, 1};
  const float grey[NB] = {10, 250, 200, 20, 240, 180, 40, 160, 60, 230, 100};
  float bgraw[NB * HW];
  for (int g = 0; g < NB; g++)
    for (int i = 0; i < HW; i++) bgraw[g * HW + i] = grey[g];
  adx_backgrounds bg = {.n = NB, .raw = bgraw, .label = lab};
  adx_metrics_params p = {.k_colour = 0, .k_context = K, .auc_steps = 2};
  int seen[K + 1] = {0};
  for (uint64_t seed = 0; seed < 24; seed++) {
    adx_metrics mt;
    TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, &bg, &p, seed, &mt, err));
    int ctx[NB], nel = 0;
    for (int i = 0; i < NB; i++)
      if (lab[i] != 0) ctx[nel++] = i;
    assert_int_equal(nel, 9);
    adx_rng rng;
    adx_rng_seed(&rng, adx_seed_mix(seed, ADX_SEED_METRIC_CONTEXT));
    for (int i = 0; i < K; i++) {
      int j = i + (int)adx_rng_below(&rng, (uint64_t)(nel - i));
      int t = ctx[i];
      ctx[i] = ctx[j];
      ctx[j] = t;
    }
    int hit = 0;
    for (int i = 0; i < K; i++) {
      assert_int_not_equal(lab[ctx[i]], 0);
      hit += map_wins(paste_dot(w, expl, grey[ctx[i]]), b);
    }
    assert_float_equal(mt.robustness_context, (double)hit / K, 1e-7);
    assert_int_equal(mt.metric_queries, 1 + 2 * 3 + (1 + ADX_ROB_K) * K);
    seen[hit]++;
  }
  /* the seed matters: different draws give different fractions */
  int kinds = 0;
  for (int h = 0; h <= K; h++) kinds += seen[h] > 0;
  assert_true(kinds >= 2);
  rig_close(&r);
}

/* The colour draw on a 3-channel model: channel ch of colour c is draw c*C + ch of the colour stream.
 * Channel weights of different signs make the answer depend on every channel's own value. */
static void test_colour_per_channel(void **state) {
  (void)state;
  enum { C3 = 3, N3 = C3 * HW };
  double w[N3];
  const double chw[C3] = {2.0, -1.5, 0.8};
  for (int ch = 0; ch < C3; ch++)
    for (int i = 0; i < HW; i++) w[ch * HW + i] = chw[ch] * (double)((i * 5) % 16 + 1) / 16.0;
  float raw[N3];
  for (int ch = 0; ch < C3; ch++)
    for (int i = 0; i < HW; i++) raw[ch * HW + i] = ch == 1 ? 0.0f : 255.0f;
  const double b = 0.2;
  rig r;
  map_open(&r, C3, w, b, "fill:zero", raw);
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW] = {0};
  for (int i = 0; i < 3; i++) expl[order[i]] = 1;
  const int kc = 40;
  int differs = 0;
  for (uint64_t seed = 3; seed < 8; seed++) {
    adx_metrics_params p = {.k_colour = kc, .k_context = 0, .auc_steps = 2};
    adx_metrics mt;
    TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, NULL, &p, seed, &mt, err));
    double col[40 * C3];
    adx_rng rng;
    adx_rng_seed(&rng, adx_seed_mix(seed, ADX_SEED_METRIC_COLOUR));
    for (int i = 0; i < kc * C3; i++) col[i] = (float)(255.0 * adx_rng_uniform(&rng));
    /* composite value at pixel i, channel ch: raw where pasted, else colour; normalised by 1/255 */
    int hit[3] = {0, 0, 0}; /* the documented draw; one draw per colour for all channels; channel-major */
    for (int c = 0; c < kc; c++) {
      double dot[3] = {0, 0, 0};
      for (int ch = 0; ch < C3; ch++)
        for (int i = 0; i < HW; i++) {
          double v0 = col[c * C3 + ch], v1 = col[c * C3], v2 = col[ch * kc + c];
          double rv = raw[ch * HW + i];
          dot[0] += w[ch * HW + i] * (expl[i] ? rv : v0) / 255.0;
          dot[1] += w[ch * HW + i] * (expl[i] ? rv : v1) / 255.0;
          dot[2] += w[ch * HW + i] * (expl[i] ? rv : v2) / 255.0;
        }
      for (int k = 0; k < 3; k++) hit[k] += map_wins(dot[k], b);
    }
    assert_float_equal(mt.robustness_colour, (double)hit[0] / kc, 1e-7);
    differs += hit[0] != hit[1] || hit[0] != hit[2];
  }
  assert_true(differs >= 3); /* the test can fail: the wrong draw order changes the fraction */
  rig_close(&r);
}

/* ---- fill values against numpy (scripts/make_fill_reference.py wrote tests/data/fill_ref_*.npy) ----
 * The "identity" model: x[1,3,12,10] -> Flatten -> Gemm(B = [I | 0], C = 0): logits = the normalised
 * input and one constant 0, so log p_i - log p_last is the model input at i. Every fill mode's input
 * under the reference mask must equal numpy's within 2e-4 (one raw grey level is >= 0.017 here). */
static void test_fill_values_reference(void **state) {
  (void)state;
  enum { FC = 3, FH = 12, FW = 10, FN = FC * FH * FW, NCLS = FN + 1 };
  static const char *const modes[7] = {"fill:zero", "fill:min",   "fill:max", "fill:mean",
                                       "fill:blur", "fill:noise", "fill:37.5"};
  char path[512];
  adx_tensor raw = {0}, mask = {0}, want = {0};
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "fill_ref_raw.npy"), &raw, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "fill_ref_mask.npy"), &mask, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "fill_ref_expected.npy"), &want, err));
  assert_int_equal(adx_tensor_numel(&raw), FN);
  assert_int_equal(adx_tensor_numel(&mask), FH * FW);
  assert_int_equal(adx_tensor_numel(&want), 7 * FN);
  adx_graph *g = adx_graph_new();
  int x = adx_graph_value(g, "x"), f = adx_graph_value(g, "f"), o = adx_graph_value(g, "o");
  int64_t xd[4] = {1, FC, FH, FW}, bd[2] = {FN, NCLS}, cd[1] = {NCLS};
  adx_value_set(&g->values[x], ADX_F32, 4, xd, 1);
  g->values[x].is_input = 1;
  float *bw = calloc((size_t)FN * NCLS, sizeof(float)), *cb = calloc(NCLS, sizeof(float));
  for (int i = 0; i < FN; i++) bw[(size_t)i * NCLS + i] = 1.0f;
  int gb = const_value(g, "gb", 2, bd, bw), gc = const_value(g, "gc", 1, cd, cb);
  free(bw);
  free(cb);
  int gin[3] = {f, gb, gc};
  adx_graph_add_node(g, "flat", "Flatten", 1, &x, 1, &f, 0, NULL);
  adx_graph_add_node(g, "gemm", "Gemm", 3, gin, 1, &o, 0, NULL);
  g->ninputs = g->noutputs = 1;
  g->inputs = malloc(sizeof(int));
  g->outputs = malloc(sizeof(int));
  g->inputs[0] = x;
  g->outputs[0] = o;
  g->values[o].is_output = 1;
  g->declared_batch = 1;
  TU_OK(adx_graph_prepare(g, err));
  adx_engine *e;
  TU_OK(adx_engine_create(g, 1, &e, err));
  adx_norm norm;
  adx_norm_identity(&norm);
  norm.scale = 1.0f / 255.0f;
  norm.nmean = norm.nstd = 3;
  const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
  for (int c = 0; c < 3; c++) {
    norm.mean[c] = mean[c];
    norm.std[c] = sd[c];
  }
  uint8_t mk[FH * FW];
  int nhidden = 0;
  for (int i = 0; i < FH * FW; i++) {
    mk[i] = adx_f32(&mask)[i] != 0.0f;
    nhidden += !mk[i];
  }
  assert_true(nhidden > FH * FW / 2);
  float *probs = malloc(sizeof(float) * NCLS);
  for (int k = 0; k < 7; k++) {
    adx_mode m;
    TU_OK(adx_mode_parse(modes[k], &m, err));
    m.seed = 12345; /* the noise seed of make_fill_reference.py */
    adx_oracle orc;
    TU_OK(adx_oracle_init(&orc, e, &m, &norm, adx_f32(&raw), 0, err));
    TU_OK(adx_oracle_ask(&orc, mk, 1, probs, err));
    const float *ref = adx_f32(&want) + (size_t)k * FN;
    double worst = 0;
    int at = 0;
    for (int i = 0; i < FN; i++) {
      double got = log((double)probs[i]) - log((double)probs[FN]);
      if (fabs(got - ref[i]) > worst) {
        worst = fabs(got - ref[i]);
        at = i;
      }
    }
    if (worst > 2e-4)
      fail_msg("%s: model input %d is %g, numpy says %g", modes[k], at,
               log((double)probs[at]) - log((double)probs[FN]), (double)ref[at]);
    adx_oracle_free(&orc);
  }
  /* the reference tells fill:zero (raw 0) from a zero model input: hidden inputs are -mean/std */
  assert_float_equal(adx_f32(&want)[0 * FN + 1], -mean[0] / sd[0], 1e-5);
  assert_int_equal(mk[1], 0);
  free(probs);
  adx_engine_free(e);
  adx_graph_free(g);
  adx_tensor_free(&raw);
  adx_tensor_free(&mask);
  adx_tensor_free(&want);
}

/* ---- robustness ---- */
#define NBG 6
static const int bg_label[NBG] = {0, 1, 1, 0, 1, 1};
static const float bg_value[NBG] = {255, 0, 255, 255, 50, 200};

/* Mean brightness of a composite: n pasted white pixels, the rest at v. */
static double comp_mean(int n, double v) { return (n * 255.0 + (HW - n) * v) / (HW * 255.0); }

static int wins(double m, double thr) {
  assert_true(fabs(m - thr) > 1e-4); /* keep clear of float ties (else choose another seed) */
  return m > thr;
}

static void check_robustness(uint64_t seed, int kc, int kx, double thr, int max_batch) {
  const double a = 50.0;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  rig r;
  rig_open(&r, (float)a, (float)(a * thr), "ad", raw, max_batch);
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW] = {0};
  expl[0] = expl[1] = expl[4] = expl[5] = 1; /* 4 pixels, not the ranking's top ones */
  float bgraw[NBG * HW];
  for (int b = 0; b < NBG; b++)
    for (int i = 0; i < HW; i++) bgraw[b * HW + i] = bg_value[b];
  adx_backgrounds bg = {.n = NBG, .raw = bgraw, .label = bg_label};
  adx_metrics_params p = {.k_colour = kc, .k_context = kx, .auc_steps = 4};
  adx_metrics mt;
  TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, &bg, &p, seed, &mt, err));

  /* the colours, drawn as documented: channel 0 of colour c is draw c of the colour stream */
  double colour[64];
  adx_rng rng;
  adx_rng_seed(&rng, adx_seed_mix(seed, ADX_SEED_METRIC_COLOUR));
  for (int c = 0; c < kc; c++) colour[c] = (float)(255.0 * adx_rng_uniform(&rng));
  /* context: the 4 images whose label is not 0 (values 0, 255, 50, 200); kx >= 4 uses them all */
  const double ctxv[4] = {0, 255, 50, 200};
  int nx = kx < 4 ? kx : 4;
  assert_int_equal(nx, 4); /* these checks use every eligible image */
  int hit = 0;
  for (int c = 0; c < kc; c++) hit += wins(comp_mean(4, colour[c]), thr);
  if (kc > 0)
    assert_float_equal(mt.robustness_colour, (double)hit / kc, 1e-7);
  else
    assert_true(isnan(mt.robustness_colour));
  hit = 0;
  for (int c = 0; c < 4; c++) hit += wins(comp_mean(4, ctxv[c]), thr);
  assert_float_equal(mt.robustness_context, hit / 4.0, 1e-7);
  /* robustness@k: the top ceil(k * 16) pixels = 1, 2, 4, 7 pasted on every colour and context image */
  const int nk[ADX_ROB_K] = {1, 2, 4, 7};
  for (int j = 0; j < ADX_ROB_K; j++) {
    hit = 0;
    for (int c = 0; c < kc; c++) hit += wins(comp_mean(nk[j], colour[c]), thr);
    for (int c = 0; c < 4; c++) hit += wins(comp_mean(nk[j], ctxv[c]), thr);
    assert_float_equal(mt.robustness_at_k[j], (double)hit / (kc + 4), 1e-7);
  }
  assert_int_equal(mt.metric_queries, 1 + 2 * 5 + (1 + ADX_ROB_K) * (kc + nx));
  rig_close(&r);
}

static void test_robustness_known(void **state) {
  (void)state;
  check_robustness(1, 20, 20, 0.5, 0);
  check_robustness(2, 20, 4, 0.5, 7); /* odd engine batches */
  check_robustness(3, 33, 8, 0.6, 0); /* more composites than one paste chunk */
  check_robustness(4, 0, 5, 0.45, 0); /* no colours: colour NaN, @k over the context only */
}

/* Designs where every colour gives the same answer, whatever the draw. */
static void test_robustness_all_or_nothing(void **state) {
  (void)state;
  for (int pass = 0; pass < 2; pass++) {
    float raw[HW];
    /* pass 0: white explanation, threshold 0.2: the mean is >= 4/16 for any background -> always target.
     * pass 1: black explanation, threshold 0.8: the mean is <= 12/16 * 255/255 < 0.8 -> never. */
    for (int i = 0; i < HW; i++) raw[i] = pass == 0 ? 255.0f : 0.0f;
    rig r;
    rig_open(&r, 50.0f, pass == 0 ? 10.0f : 40.0f, "fill:zero", raw, 0);
    int32_t order[HW];
    test_order(order);
    uint8_t expl[HW] = {0};
    for (int i = 0; i < 4; i++) expl[order[i]] = 1;
    adx_metrics_params p = {.k_colour = 25, .k_context = 0, .auc_steps = 2};
    adx_metrics mt;
    TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, NULL, &p, 42, &mt, err));
    assert_float_equal(mt.robustness_colour, pass == 0 ? 1.0 : 0.0, 0);
    assert_float_equal(mt.robustness_at_k[2], pass == 0 ? 1.0 : 0.0, 0);
    rig_close(&r);
  }
}

/* Context backgrounds of the target's own label are never used; none eligible -> NaN. */
static void test_context_selection(void **state) {
  (void)state;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  rig r;
  rig_open(&r, 50.0f, 25.0f, "ad", raw, 0); /* threshold 0.5 */
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW] = {0};
  for (int i = 0; i < 4; i++) expl[order[i]] = 1;
  /* label-0 images are white (a paste on them would win), the others black (a paste loses) */
  const int lab[8] = {0, 3, 0, 5, 0, 2, 0, 7};
  float bgraw[8 * HW];
  for (int b = 0; b < 8; b++)
    for (int i = 0; i < HW; i++) bgraw[b * HW + i] = lab[b] == 0 ? 255.0f : 0.0f;
  adx_backgrounds bg = {.n = 8, .raw = bgraw, .label = lab};
  adx_metrics_params p = {.k_colour = 0, .k_context = 2, .auc_steps = 2};
  adx_metrics mt;
  for (uint64_t seed = 0; seed < 20; seed++) {
    TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, &bg, &p, seed, &mt, err));
    assert_float_equal(mt.robustness_context, 0.0, 0);
    assert_int_equal(mt.metric_queries, 1 + 2 * 3 + (1 + ADX_ROB_K) * 2);
  }
  /* target 1: every image is eligible only if its label differs from 1: all 8 here; with the white
   * label-0 images the paste of class-0 evidence is judged against target 1, which wins iff the mean
   * is below the threshold: white backgrounds lose, black ones win. */
  p.k_context = 8;
  TU_OK(adx_metrics_compute(&r.mode, &r.plain, 1, r.plain.full[1], expl, order, &bg, &p, 5, &mt, err));
  assert_float_equal(mt.robustness_context, 0.5, 0); /* 4 black of 8, mean 4/16 < 0.5 */
  /* every label equal to the target: no background -> NaN */
  const int same[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  bg.label = same;
  TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, &bg, &p, 5, &mt, err));
  assert_true(isnan(mt.robustness_context));
  for (int j = 0; j < ADX_ROB_K; j++) assert_true(isnan(mt.robustness_at_k[j]));
  rig_close(&r);
}

/* Same seed, same values (whatever the engine batch); the seed changes the colours. */
static void test_determinism(void **state) {
  (void)state;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW] = {0};
  for (int i = 0; i < 4; i++) expl[order[i]] = 1;
  float bgraw[NBG * HW];
  for (int b = 0; b < NBG; b++)
    for (int i = 0; i < HW; i++) bgraw[b * HW + i] = bg_value[b];
  adx_backgrounds bg = {.n = NBG, .raw = bgraw, .label = bg_label};
  adx_metrics_params p;
  adx_metrics_params_default(&p);
  p.k_context = 3;
  adx_metrics m1, m2, m3;
  memset(&m1, 0, sizeof m1);
  memset(&m2, 0, sizeof m2);
  memset(&m3, 0, sizeof m3);
  rig r;
  rig_open(&r, 50.0f, 25.0f, "ad", raw, 0);
  TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, &bg, &p, 77, &m1, err));
  TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, &bg, &p, 77, &m2, err));
  rig_close(&r);
  rig_open(&r, 50.0f, 25.0f, "ad", raw, 5);
  TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, &bg, &p, 77, &m3, err));
  rig_close(&r);
  assert_memory_equal(&m1, &m2, sizeof m1);
  assert_float_equal(m1.robustness_colour, m3.robustness_colour, 0);
  assert_float_equal(m1.robustness_context, m3.robustness_context, 0);
  for (int j = 0; j < ADX_ROB_K; j++) assert_float_equal(m1.robustness_at_k[j], m3.robustness_at_k[j], 0);
  /* across seeds the colour fraction follows the seeded draws (checked exactly in test_robustness_known);
   * here: some seed among a few gives a different fraction, so the seed is really used */
  int differs = 0;
  rig_open(&r, 50.0f, 25.0f, "ad", raw, 0);
  for (uint64_t s = 1; s < 10 && !differs; s++) {
    TU_OK(adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, order, &bg, &p, s, &m2, err));
    differs = m2.robustness_colour != m1.robustness_colour;
  }
  rig_close(&r);
  assert_true(differs);
}

/* adx_oracle_ask_images: a plain pass over whole images, split into engine batches, counted. */
static void test_ask_images(void **state) {
  (void)state;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  rig r;
  rig_open(&r, 3.0f, 1.0f, "fill:zero", raw, 2);
  float imgs[5 * HW], probs[5 * 2];
  const float v[5] = {0, 51, 102, 204, 255};
  for (int b = 0; b < 5; b++)
    for (int i = 0; i < HW; i++) imgs[b * HW + i] = i < 8 ? v[b] : 255.0f - v[b];
  int64_t q0 = r.mode.queries;
  TU_OK(adx_oracle_ask_images(&r.mode, imgs, 5, probs, err));
  assert_int_equal(r.mode.queries - q0, 5);
  /* mean = (8 v + 8 (255 - v)) / 16 / 255 = 1/2 for every image -> p0 = sigmoid(3 * 0.5 - 1) */
  for (int b = 0; b < 5; b++) {
    assert_float_equal(probs[b * 2], sigmoid(0.5), 1e-6);
    assert_float_equal(probs[b * 2] + probs[b * 2 + 1], 1.0, 1e-6);
  }
  for (int b = 0; b < 5; b++)
    for (int i = 0; i < HW; i++) imgs[b * HW + i] = v[b];
  TU_OK(adx_oracle_ask_images(&r.mode, imgs, 5, probs, err));
  for (int b = 0; b < 5; b++) assert_float_equal(probs[b * 2], sigmoid(3.0 * v[b] / 255.0 - 1.0), 1e-6);
  adx_error e = {0};
  assert_int_equal(adx_oracle_ask_images(&r.mode, imgs, 0, probs, &e), ADX_ERR_ARG);
  rig_close(&r);
}

static void test_bad_arguments(void **state) {
  (void)state;
  float raw[HW];
  for (int i = 0; i < HW; i++) raw[i] = 255.0f;
  rig r;
  rig_open(&r, 2.0f, 0.0f, "fill:zero", raw, 0);
  int32_t order[HW];
  test_order(order);
  uint8_t expl[HW] = {1};
  adx_metrics_params p;
  adx_metrics_params_default(&p);
  assert_int_equal(p.k_colour, 20);
  assert_int_equal(p.k_context, 20);
  assert_int_equal(p.auc_steps, 20);
  adx_metrics mt;
  adx_error e = {0};
  assert_int_equal(adx_metrics_compute(&r.mode, &r.plain, 2, 0.5f, expl, order, NULL, &p, 1, &mt, &e),
                   ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "target"));
  assert_int_equal(adx_metrics_compute(&r.mode, &r.plain, 0, 0.0f, expl, order, NULL, &p, 1, &mt, &e),
                   ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "p_full"));
  p.auc_steps = 0;
  assert_int_equal(adx_metrics_compute(&r.mode, &r.plain, 0, 0.5f, expl, order, NULL, &p, 1, &mt, &e),
                   ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "auc_steps"));
  adx_metrics_params_default(&p);
  p.k_colour = -1;
  assert_int_equal(adx_metrics_compute(&r.mode, &r.plain, 0, 0.5f, expl, order, NULL, &p, 1, &mt, &e),
                   ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "k_colour"));
  adx_metrics_params_default(&p);
  order[3] = order[4]; /* not a permutation */
  assert_int_equal(adx_metrics_compute(&r.mode, &r.plain, 0, 0.5f, expl, order, NULL, &p, 1, &mt, &e),
                   ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "ranking"));
  test_order(order);
  adx_backgrounds bg = {.n = 3, .raw = NULL, .label = NULL};
  assert_int_equal(adx_metrics_compute(&r.mode, &r.plain, 0, 0.5f, expl, order, &bg, &p, 1, &mt, &e),
                   ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "backgrounds"));
  rig_close(&r);
}

/* A real model (fashion VGG, 28x28): every metric in its range, the size exact, same seed same values. */
static void test_fixture_smoke(void **state) {
  (void)state;
  char path[512];
  adx_graph *g;
  adx_engine *e;
  adx_tensor imgs = {0}, labels = {0};
  TU_OK(adx_model_load(tu_data(path, sizeof path, "fashion_vgg.onnx"), NULL, &g, err));
  TU_OK(adx_engine_create(g, 2, &e, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "fashion_test32_images.npy"), &imgs, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "fashion_test32_labels.npy"), &labels, err));
  const int hw = 28 * 28;
  int lab[32];
  for (int i = 0; i < 32; i++) lab[i] = (int)adx_i64(&labels)[i];
  adx_norm norm;
  adx_norm_identity(&norm);
  norm.scale = 1.0f / 255.0f;
  norm.nmean = norm.nstd = 1;
  norm.mean[0] = 0.286f;
  norm.std[0] = 0.353f;
  const float *raw = adx_f32(&imgs); /* image 0 */
  const char *modes[2] = {"ad", "fill:mean"};
  int nmodes = getenv("ADX_VALGRIND") ? 1 : 2; /* under valgrind: one mode, one run (memory only) */
  for (int mi = 0; mi < nmodes; mi++) {
    adx_mode m, pm;
    TU_OK(adx_mode_parse(modes[mi], &m, err));
    TU_OK(adx_mode_parse("plain", &pm, err));
    adx_oracle mo, po;
    TU_OK(adx_oracle_init(&mo, e, &m, &norm, raw, 0, err));
    TU_OK(adx_oracle_init(&po, e, &pm, &norm, raw, 0, err));
    int target = 0;
    for (int k = 1; k < po.nclasses; k++)
      if (po.full[k] > po.full[target]) target = k;
    /* ranking: brightest pixels first (ties by index); explanation: its top 30% */
    int32_t order[28 * 28];
    for (int i = 0; i < hw; i++) order[i] = i;
    for (int i = 1; i < hw; i++) { /* insertion sort, stable */
      int32_t v = order[i];
      int j = i - 1;
      while (j >= 0 && raw[order[j]] < raw[v]) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = v;
    }
    uint8_t expl[28 * 28] = {0};
    int npx = (int)(0.3 * hw);
    for (int i = 0; i < npx; i++) expl[order[i]] = 1;
    adx_backgrounds bg = {.n = 31, .raw = raw + hw, .label = lab + 1};
    adx_metrics_params p = {.k_colour = 4, .k_context = 4, .auc_steps = 4}; /* light: valgrind runs it */
    adx_metrics a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    TU_OK(adx_metrics_compute(&mo, &po, target, po.full[target], expl, order, &bg, &p, 9, &a, err));
    if (!getenv("ADX_VALGRIND")) {
      TU_OK(adx_metrics_compute(&mo, &po, target, po.full[target], expl, order, &bg, &p, 9, &b, err));
      assert_memory_equal(&a, &b, sizeof a);
    }
    assert_float_equal(a.size, (double)npx / hw, 1e-7);
    assert_true(a.confidence >= 0 && a.confidence <= 1);
    assert_float_equal(a.drop_off, (po.full[target] - a.confidence) / po.full[target], 1e-6);
    assert_true(a.insertion_auc >= 0 && a.deletion_auc >= 0);
    assert_true(a.robustness_colour >= 0 && a.robustness_colour <= 1);
    assert_true(a.robustness_context >= 0 && a.robustness_context <= 1);
    for (int j = 0; j < ADX_ROB_K; j++) assert_true(a.robustness_at_k[j] >= 0 && a.robustness_at_k[j] <= 1);
    int nx = 0;
    for (int i = 1; i < 32; i++) nx += lab[i] != target;
    if (nx > 4) nx = 4;
    assert_int_equal(a.metric_queries, 1 + 2 * 5 + 5 * (4 + nx));
    adx_oracle_free(&mo);
    adx_oracle_free(&po);
  }
  adx_tensor_free(&imgs);
  adx_tensor_free(&labels);
  adx_engine_free(e);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auc_fill_zero),
      cmocka_unit_test(test_auc_ad),
      cmocka_unit_test(test_auc_two_points),
      cmocka_unit_test(test_robustness_known),
      cmocka_unit_test(test_auc_sees_ranking),
      cmocka_unit_test(test_robustness_sees_positions),
      cmocka_unit_test(test_context_seeded_choice),
      cmocka_unit_test(test_colour_per_channel),
      cmocka_unit_test(test_fill_values_reference),
      cmocka_unit_test(test_robustness_all_or_nothing),
      cmocka_unit_test(test_context_selection),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_ask_images),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_fixture_smoke),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
