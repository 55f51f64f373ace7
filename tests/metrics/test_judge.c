/* Cross-judging (src/metrics/judge.c, docs/metrics.md "Judges") on a hand-built model that sees position:
 *   x[1,1,4,4] -> Conv 1x1 (weight 1, bias BETA) -> Flatten -> Gemm: logit0 = sum_i w_i y_i, logit1 = B.
 * Class 0 is top-1 iff sum_i w_i y_i > B, with y_i = x_i + BETA for a pixel the model sees (x = raw/255).
 * A hidden pixel gives y_i = BETA under fill:zero, mean(x) + BETA under fill:mean, blur_i + BETA under
 * fill:blur and 0 under isolating AD (its 1x1 window is deactivated and zeroed), so the four hiding judges
 * disagree, and the weights and pixels follow the ranking, so a reversed ranking gets another matrix.
 *  - the hiding judges against the 0/1 matrix printed by scripts/judge_reference.py (numpy), for the ranking
 *    and for its reverse, and against the closed form computed here (the blur of docs/ad.md re-done here);
 *  - the paste judges (colour, context) from the documented colour draw and hand-made grey backgrounds,
 *    both measures, and their sufficiency against robustness@k (the same composites);
 *  - the explanation's own mode is asked through the mode oracle (its cache), the query count, the
 *    own-operator rule, the matrix statistics over images, and argument errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"
#include "adx/model.h"
#include "common/attr.h"
#include "common/testutil.h"

#define HW 16
#define BETA 0.2
#define THR 5.2

static int const_value(adx_graph *g, const char *name, int ndim, const int64_t *dims, const float *v) {
  int id = adx_graph_value(g, name);
  TU_OK(adx_tensor_alloc(&g->values[id].cval, ADX_F32, ndim, dims, err));
  memcpy(g->values[id].cval.data, v, sizeof(float) * (size_t)adx_tensor_numel(&g->values[id].cval));
  adx_value_set(&g->values[id], ADX_F32, ndim, dims, 0);
  g->values[id].is_const = 1;
  return id;
}

/* The ranking, the pixels and the weights of scripts/judge_reference.py. */
static void ranking(int32_t *order) {
  for (int j = 0; j < HW; j++) order[j] = (int32_t)((j * 7 + 3) % HW);
}
static void scene(float *raw, double *w) {
  int32_t order[HW];
  ranking(order);
  for (int j = 0; j < HW; j++) {
    raw[order[j]] = (float)(255 - 13 * j);
    double f = (double)(HW - j) / HW;
    w[order[j]] = f * f;
  }
}

static adx_graph *model(const double *w) {
  adx_graph *g = adx_graph_new();
  int x = adx_graph_value(g, "x"), y = adx_graph_value(g, "y"), f = adx_graph_value(g, "f");
  int o = adx_graph_value(g, "o");
  int64_t xd[4] = {1, 1, 4, 4}, wd[4] = {1, 1, 1, 1}, bd1[1] = {1}, bd[2] = {HW, 2}, cd[1] = {2};
  adx_value_set(&g->values[x], ADX_F32, 4, xd, 1);
  g->values[x].is_input = 1;
  float one = 1.0f, beta = (float)BETA, bw[HW * 2] = {0}, cb[2] = {0.0f, (float)THR};
  for (int i = 0; i < HW; i++) bw[i * 2] = (float)w[i];
  int cw = const_value(g, "cw", 4, wd, &one), cbias = const_value(g, "cb", 1, bd1, &beta);
  int gb = const_value(g, "gb", 2, bd, bw), gc = const_value(g, "gc", 1, cd, cb);
  adx_attr *ca = malloc(sizeof *ca);
  int64_t ks[2] = {1, 1};
  ca[0] = tu_attr_ints("kernel_shape", 2, ks);
  int cin[3] = {x, cw, cbias}, gin[3] = {f, gb, gc};
  adx_graph_add_node(g, "conv", "Conv", 3, cin, 1, &y, 1, ca);
  adx_graph_add_node(g, "flat", "Flatten", 1, &y, 1, &f, 0, NULL);
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
  adx_oracle mode, plain, jo[ADX_NJUDGES];
  adx_oracle *judges[ADX_NJUDGES];
  float raw[HW];
  double w[HW];
} rig;

static void rig_open(rig *r, const char *mode) {
  memset(r, 0, sizeof *r);
  scene(r->raw, r->w);
  r->g = model(r->w);
  TU_OK(adx_engine_create(r->g, 1, &r->e, err));
  adx_norm norm;
  adx_norm_identity(&norm);
  norm.scale = 1.0f / 255.0f;
  adx_mode m, pm;
  TU_OK(adx_mode_parse(mode, &m, err));
  TU_OK(adx_mode_parse("plain", &pm, err));
  TU_OK(adx_oracle_init(&r->mode, r->e, &m, &norm, r->raw, 0, err));
  TU_OK(adx_oracle_init(&r->plain, r->e, &pm, &norm, r->raw, 0, err));
  for (int j = ADX_JUDGE_FILL_ZERO; j < ADX_NJUDGES; j++) {
    adx_mode jm;
    TU_OK(adx_judge_mode(j, &jm, err));
    TU_OK(adx_oracle_init(&r->jo[j], r->e, &jm, &norm, r->raw, 0, err));
    r->judges[j] = &r->jo[j];
  }
}

static void rig_close(rig *r) {
  for (int j = ADX_JUDGE_FILL_ZERO; j < ADX_NJUDGES; j++) adx_oracle_free(&r->jo[j]);
  adx_oracle_free(&r->mode);
  adx_oracle_free(&r->plain);
  adx_engine_free(r->e);
  adx_graph_free(r->g);
}

static const int NK[ADX_ROB_K] = {1, 2, 4, 7}; /* ceil(k% * 16) for k = 5, 10, 20, 40 */

/* docs/ad.md's blur of the 4x4 image, done here: sigma = max(0.5, 0.1 * 4), radius ceil(3 sigma),
 * normalised Gaussian taps, rows then columns, clamped borders. Raw units. */
static void blur4(const float *raw, double *out) {
  const double s = 0.5;
  const int rad = 2;
  double k[5], sum = 0, tmp[HW];
  for (int i = -rad; i <= rad; i++) sum += k[i + rad] = exp(-0.5 * i * i / (s * s));
  for (int i = 0; i < 5; i++) k[i] /= sum;
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) {
      double v = 0;
      for (int a = -rad; a <= rad; a++) {
        int xx = x + a < 0 ? 0 : x + a > 3 ? 3 : x + a;
        v += k[a + rad] * raw[y * 4 + xx];
      }
      tmp[y * 4 + x] = v;
    }
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) {
      double v = 0;
      for (int a = -rad; a <= rad; a++) {
        int yy = y + a < 0 ? 0 : y + a > 3 ? 3 : y + a;
        v += k[a + rad] * tmp[yy * 4 + x];
      }
      out[y * 4 + x] = v;
    }
}

/* w . y with the pixels `on` seen (x + BETA) and the others at h (their y), checked clear of the threshold.
 */
static int wins(const double *w, const float *raw, const uint8_t *on, const double *h) {
  double s = 0;
  for (int i = 0; i < HW; i++) s += w[i] * (on[i] ? raw[i] / 255.0 + BETA : h[i]);
  assert_true(fabs(s - THR) > 1e-4); /* clear of float32 rounding (~1e-6 here) */
  return s > THR;
}

/* The hidden pixels' y under each hiding judge. */
static void hidden_values(const float *raw, double h[ADX_NJUDGES][HW]) {
  double mean = 0, bl[HW];
  for (int i = 0; i < HW; i++) mean += raw[i] / 255.0 / HW;
  blur4(raw, bl);
  for (int i = 0; i < HW; i++) {
    h[ADX_JUDGE_FILL_ZERO][i] = BETA;
    h[ADX_JUDGE_FILL_MEAN][i] = mean + BETA;
    h[ADX_JUDGE_FILL_BLUR][i] = bl[i] / 255.0 + BETA;
    h[ADX_JUDGE_AD][i] = 0.0;
  }
}

/* The matrix of scripts/judge_reference.py: [ranking, reversed][k][fill:zero, fill:mean, fill:blur, ad]
 * as "sufficiency comprehensiveness" digit pairs. */
static const char *const REF[2][ADX_ROB_K][4] = {
    {{"01", "00", "10", "01"}, {"01", "10", "10", "01"}, {"01", "11", "10", "01"}, {"11", "11", "10", "01"}},
    {{"00", "00", "10", "00"}, {"00", "00", "10", "00"}, {"00", "00", "10", "00"}, {"00", "00", "10", "00"}}};

static void test_hiding_judges(void **state) {
  (void)state;
  rig r;
  rig_open(&r, "ad");
  double h[ADX_NJUDGES][HW];
  hidden_values(r.raw, h);
  int32_t order[HW], rorder[HW];
  ranking(order);
  for (int i = 0; i < HW; i++) rorder[i] = order[HW - 1 - i];
  uint8_t expl[HW] = {0};
  expl[order[0]] = expl[order[1]] = 1;
  adx_metrics_params p = {.k_colour = 0, .k_context = 0, .auc_steps = 4};
  float mat[2][ADX_ROB_K][ADX_NJUDGES][2];
  for (int rev = 0; rev < 2; rev++) {
    const int32_t *o = rev ? rorder : order;
    adx_metrics mt;
    TU_OK(adx_metrics_compute_judged(&r.mode, &r.plain, r.judges, 0, r.plain.full[0], expl, o, NULL, &p, 1,
                                     &mt, err));
    memcpy(mat[rev], mt.judges, sizeof mt.judges);
    for (int k = 0; k < ADX_ROB_K; k++) {
      uint8_t keep[HW] = {0}, drop[HW];
      for (int i = 0; i < NK[k]; i++) keep[o[i]] = 1;
      for (int i = 0; i < HW; i++) drop[i] = !keep[i];
      /* no backgrounds: the paste judges are undefined */
      for (int q = 0; q < 2; q++) {
        assert_true(isnan(mt.judges[k][ADX_JUDGE_COLOUR][q]));
        assert_true(isnan(mt.judges[k][ADX_JUDGE_CONTEXT][q]));
      }
      for (int j = ADX_JUDGE_FILL_ZERO; j < ADX_NJUDGES; j++) {
        int suff = wins(r.w, r.raw, keep, h[j]), comp = !wins(r.w, r.raw, drop, h[j]);
        const char *ref = REF[rev][k][j - ADX_JUDGE_FILL_ZERO];
        /* the closed form here and numpy's agree, and adx agrees with both */
        assert_int_equal(suff, ref[0] - '0');
        assert_int_equal(comp, ref[1] - '0');
        assert_float_equal(mt.judges[k][j][ADX_JUDGE_SUFF], suff, 0);
        assert_float_equal(mt.judges[k][j][ADX_JUDGE_COMP], comp, 0);
      }
    }
  }
  /* the test can fail: the reversed ranking's matrix differs, and AD differs from fill:zero */
  assert_true(memcmp(mat[0], mat[1], sizeof mat[0]) != 0);
  int ad_differs = 0;
  for (int k = 0; k < ADX_ROB_K; k++)
    ad_differs += mat[0][k][ADX_JUDGE_AD][0] != mat[0][k][ADX_JUDGE_FILL_ZERO][0] ||
                  mat[0][k][ADX_JUDGE_AD][1] != mat[0][k][ADX_JUDGE_FILL_ZERO][1];
  assert_true(ad_differs > 0);
  rig_close(&r);
}

/* Paste judges: the top-k on grey backgrounds (the documented colour draw and hand-made context images);
 * sufficiency is robustness@k split by background set, comprehensiveness the fraction that loses the class
 * when the top-k pixels take the background's values. */
static void test_paste_judges(void **state) {
  (void)state;
  rig r;
  rig_open(&r, "fill:mean");
  enum { NB = 7, KC = 12 };
  const int lab[NB] = {1, 1, 1, 1, 1, 1, 1};
  const float grey[NB] = {0, 30, 60, 90, 120, 150, 240};
  float bgraw[NB * HW];
  for (int g = 0; g < NB; g++)
    for (int i = 0; i < HW; i++) bgraw[g * HW + i] = grey[g];
  adx_backgrounds bg = {.n = NB, .raw = bgraw, .label = lab};
  int32_t order[HW], rorder[HW];
  ranking(order);
  for (int i = 0; i < HW; i++) rorder[i] = order[HW - 1 - i];
  uint8_t expl[HW] = {0};
  for (int i = 0; i < 5; i++) expl[order[i]] = 1;
  adx_metrics_params p = {.k_colour = KC, .k_context = NB, .auc_steps = 4};
  int kept[2] = {0, 0}, comp_seen[2] = {0, 0};
  for (uint64_t seed = 5; seed < 9; seed++) {
    double colour[KC];
    adx_rng rng;
    adx_rng_seed(&rng, adx_seed_mix(seed, ADX_SEED_METRIC_COLOUR));
    for (int c = 0; c < KC; c++) colour[c] = (float)(255.0 * adx_rng_uniform(&rng));
    for (int rev = 0; rev < 2; rev++) {
      const int32_t *o = rev ? rorder : order;
      adx_metrics mt, plainmt;
      TU_OK(adx_metrics_compute_judged(&r.mode, &r.plain, r.judges, 0, r.plain.full[0], expl, o, &bg, &p,
                                       seed, &mt, err));
      TU_OK(
          adx_metrics_compute(&r.mode, &r.plain, 0, r.plain.full[0], expl, o, &bg, &p, seed, &plainmt, err));
      /* judging adds values, it changes none */
      assert_memory_equal(mt.robustness_at_k, plainmt.robustness_at_k, sizeof mt.robustness_at_k);
      assert_float_equal(mt.robustness_colour, plainmt.robustness_colour, 0);
      assert_float_equal(mt.insertion_auc, plainmt.insertion_auc, 0);
      for (int k = 0; k < ADX_ROB_K; k++) assert_true(isnan(plainmt.judges[k][ADX_JUDGE_AD][0]));
      /* the extra cost: 4 complements x (KC + NB) composites, 2 x 4 masks x 4 hiding judges */
      assert_int_equal(mt.metric_queries - plainmt.metric_queries, ADX_ROB_K * (KC + NB) + 4 * 2 * ADX_ROB_K);
      for (int k = 0; k < ADX_ROB_K; k++) {
        uint8_t keep[HW] = {0}, drop[HW];
        for (int i = 0; i < NK[k]; i++) keep[o[i]] = 1;
        for (int i = 0; i < HW; i++) drop[i] = !keep[i];
        int sc = 0, cc = 0, sx = 0, cx = 0;
        double hv[HW];
        for (int c = 0; c < KC; c++) {
          for (int i = 0; i < HW; i++) hv[i] = colour[c] / 255.0 + BETA;
          sc += wins(r.w, r.raw, keep, hv);
          cc += !wins(r.w, r.raw, drop, hv);
        }
        for (int g = 0; g < NB; g++) {
          for (int i = 0; i < HW; i++) hv[i] = grey[g] / 255.0 + BETA;
          sx += wins(r.w, r.raw, keep, hv);
          cx += !wins(r.w, r.raw, drop, hv);
        }
        const float(*jd)[2] = mt.judges[k];
        assert_float_equal(jd[ADX_JUDGE_COLOUR][ADX_JUDGE_SUFF], (double)sc / KC, 1e-7);
        assert_float_equal(jd[ADX_JUDGE_COLOUR][ADX_JUDGE_COMP], (double)cc / KC, 1e-7);
        assert_float_equal(jd[ADX_JUDGE_CONTEXT][ADX_JUDGE_SUFF], (double)sx / NB, 1e-7);
        assert_float_equal(jd[ADX_JUDGE_CONTEXT][ADX_JUDGE_COMP], (double)cx / NB, 1e-7);
        /* where they coincide, the paste judges are robustness@k: the same composites, split by set */
        assert_float_equal(mt.robustness_at_k[k],
                           (KC * jd[ADX_JUDGE_COLOUR][0] + NB * jd[ADX_JUDGE_CONTEXT][0]) / (KC + NB), 1e-6);
        kept[rev] += sc + sx;
        comp_seen[0] += cc + cx > 0;
        comp_seen[1] += cc + cx < KC + NB;
      }
    }
  }
  /* the test can fail: sufficiency and comprehensiveness both vary */
  assert_true(kept[0] > kept[1] + 10); /* the reversed ranking (dim, light pixels first) suffices less */
  assert_true(comp_seen[0] > 0 && comp_seen[1] > 0);
  rig_close(&r);
}

/* The explanation's own mode is asked through the mode oracle (whose cache holds the insertion and
 * deletion masks that coincide with the top-k masks); the values are the same as through the judge's
 * own oracle. */
static void test_own_mode_reuse(void **state) {
  (void)state;
  rig a, z;
  rig_open(&a, "ad");
  rig_open(&z, "fill:zero");
  int32_t order[HW];
  ranking(order);
  uint8_t expl[HW] = {0};
  expl[order[0]] = 1;
  adx_metrics_params p = {.k_colour = 0, .k_context = 0, .auc_steps = 20};
  adx_metrics ma, mz;
  TU_OK(adx_metrics_compute_judged(&a.mode, &a.plain, a.judges, 0, a.plain.full[0], expl, order, NULL, &p, 1,
                                   &ma, err));
  TU_OK(adx_metrics_compute_judged(&z.mode, &z.plain, z.judges, 0, z.plain.full[0], expl, order, NULL, &p, 1,
                                   &mz, err));
  assert_memory_equal(ma.judges, mz.judges, sizeof ma.judges);
  /* fill:zero's judge oracle was not asked for the fill:zero mode; the mode oracle was, from its cache */
  assert_int_equal(z.jo[ADX_JUDGE_FILL_ZERO].queries, 0);
  assert_int_equal(a.jo[ADX_JUDGE_FILL_ZERO].queries, 2 * ADX_ROB_K);
  assert_int_equal(a.jo[ADX_JUDGE_AD].queries, 0); /* the bare "ad" mode is the AD judge's mode */
  /* S = 20: insertion step i shows ceil(i*16/20) pixels, the top-k sets for i = 1, 2, 4, 8 */
  int64_t before = z.mode.evaluated;
  uint8_t m[HW] = {0};
  m[order[0]] = 1;
  float pr[2];
  TU_OK(adx_oracle_ask(&z.mode, m, 1, pr, err));
  assert_int_equal(z.mode.evaluated, before); /* the top-1 mask was in the cache */
  rig_close(&a);
  rig_close(&z);
}

static void test_own_operator(void **state) {
  (void)state;
  assert_int_equal(adx_judge_own("ad"), ADX_JUDGE_AD);
  assert_int_equal(adx_judge_own("ad:strict:all:none:every"), ADX_JUDGE_AD);
  assert_int_equal(adx_judge_own("fill:zero"), ADX_JUDGE_FILL_ZERO);
  assert_int_equal(adx_judge_own("fill:mean"), ADX_JUDGE_FILL_MEAN);
  assert_int_equal(adx_judge_own("fill:blur"), ADX_JUDGE_FILL_BLUR);
  assert_int_equal(adx_judge_own("fill:max"), -1);
  assert_int_equal(adx_judge_own("plain"), -1);
  assert_string_equal(adx_judge_names[ADX_JUDGE_COLOUR], "colour");
  assert_string_equal(adx_judge_names[ADX_JUDGE_AD], "ad");
  adx_mode m;
  TU_OK(adx_judge_mode(ADX_JUDGE_FILL_BLUR, &m, err));
  assert_int_equal(m.kind, ADX_MODE_FILL);
  assert_int_equal(m.fill, ADX_FILL_BLUR);
  TU_OK(adx_judge_mode(ADX_JUDGE_AD, &m, err));
  assert_int_equal(m.kind, ADX_MODE_AD);
  adx_error e = {0};
  assert_int_equal(adx_judge_mode(ADX_JUDGE_COLOUR, &m, &e), ADX_ERR_ARG);
}

/* Statistics over images, by hand: three images, one not done; a NaN skipped. */
static void test_matrix_stats(void **state) {
  (void)state;
  enum { N = 3, CELLS = ADX_ROB_K * ADX_NJUDGES * 2 };
  float a[N * CELLS], f[N * CELLS];
  for (int i = 0; i < N * CELLS; i++) a[i] = f[i] = 0.0f;
  /* judge fill:mean, sufficiency: image 0 values 1, 0, 1, 1 over k (mean 0.75); image 1: 0, 0, NaN, 1
   * (mean 1/3); image 2 not done (would be 1s) */
  const float v0[4] = {1, 0, 1, 1}, v1[4] = {0, 0, NAN, 1};
  for (int k = 0; k < ADX_ROB_K; k++) {
    size_t c = ((size_t)k * ADX_NJUDGES + ADX_JUDGE_FILL_MEAN) * 2 + ADX_JUDGE_SUFF;
    a[0 * CELLS + c] = v0[k];
    a[1 * CELLS + c] = v1[k];
    a[2 * CELLS + c] = 1;
    f[0 * CELLS + c] = 0.25f; /* differences over k: 0.5 and 1/3 - 0.25 */
    f[1 * CELLS + c] = 0.25f;
  }
  const uint8_t done[N] = {1, 1, 0};
  double scratch[N];
  adx_summary s[ADX_ROB_K + 1][ADX_NJUDGES][2], mg[ADX_NJUDGES][2];
  adx_judge_summarize_done(a, done, N, scratch, s);
  assert_int_equal(s[0][ADX_JUDGE_FILL_MEAN][0].n, 2);
  assert_float_equal(s[0][ADX_JUDGE_FILL_MEAN][0].mean, 0.5, 1e-12);
  assert_int_equal(s[2][ADX_JUDGE_FILL_MEAN][0].n, 1); /* the NaN skipped */
  assert_float_equal(s[2][ADX_JUDGE_FILL_MEAN][0].mean, 1.0, 1e-12);
  assert_float_equal(s[ADX_ROB_K][ADX_JUDGE_FILL_MEAN][0].mean, (0.75 + 1.0 / 3) / 2, 1e-12);
  assert_float_equal(s[ADX_ROB_K][ADX_JUDGE_AD][1].mean, 0.0, 0);
  adx_judge_margin_done(a, f, done, N, scratch, mg);
  double d0 = 0.75 - 0.25, d1 = 1.0 / 3 - 0.25, m = (d0 + d1) / 2, sd = fabs(d0 - d1) / sqrt(2.0);
  assert_int_equal(mg[ADX_JUDGE_FILL_MEAN][0].n, 2);
  assert_float_equal(mg[ADX_JUDGE_FILL_MEAN][0].mean, m, 1e-12);
  /* t_{0.975,1} = 12.7062 */
  assert_float_equal(mg[ADX_JUDGE_FILL_MEAN][0].ci95_high - m, 12.7062 * sd / sqrt(2.0), 1e-3);
}

static void test_bad_arguments(void **state) {
  (void)state;
  rig r;
  rig_open(&r, "ad");
  int32_t order[HW];
  ranking(order);
  uint8_t expl[HW] = {1};
  adx_metrics_params p = {.k_colour = 0, .k_context = 0, .auc_steps = 4};
  adx_metrics mt;
  adx_oracle *js[ADX_NJUDGES];
  memcpy(js, r.judges, sizeof js);
  js[ADX_JUDGE_FILL_BLUR] = NULL;
  adx_error e = {0};
  assert_int_equal(adx_metrics_compute_judged(&r.mode, &r.plain, js, 0, r.plain.full[0], expl, order, NULL,
                                              &p, 1, &mt, &e),
                   ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "fill:blur"));
  assert_int_equal(adx_judge_hide(js, NULL, 0, order, mt.judges, &e), ADX_ERR_ARG);
  assert_int_equal(adx_judge_hide(r.judges, NULL, 7, order, mt.judges, &e), ADX_ERR_ARG);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hiding_judges),  cmocka_unit_test(test_paste_judges),
      cmocka_unit_test(test_own_mode_reuse), cmocka_unit_test(test_own_operator),
      cmocka_unit_test(test_matrix_stats),   cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
