/* Incremental fill queries (src/engine/incr.c) against the full recomputation of the same engine with the
 * flag off, on every fixture model: one small box, several boxes, a ReX-like split into quadrants, nothing
 * hidden and everything hidden, under fill:zero, fill:mean and fill:blur, through oneDNN and the BLAS path.
 * Max |logit difference| <= 1e-5 and the same argmax (the BLAS path's gather kernel); through oneDNN, bit for
 * bit (crops of each layer by its own kernel); nothing hidden is bit-identical to the plain run. The
 * full recomputation is itself checked against PyTorch (test_fixtures, test_textured). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"
#include "adx/core.h"
#include "adx/engine.h"
#include "adx/io.h"
#include "adx/model.h"
#include "common/testutil.h"

#define NB 12 /* masks per query */

typedef struct fixture {
  const char *model, *images;
} fixture;

static const fixture fixtures[] = {
    {"fashion_resnet", "fashion_test32_images.npy"},
    {"fashion_resnet_bn", "fashion_test32_images.npy"},
    {"fashion_vgg", "fashion_test32_images.npy"},
    {"textured_resnet", "textured_test32_images.npy"},
    {"textured_offset_resnet", "textured_offset_test32_images.npy"},
    {"motif_resnet", "motif_test32_images.npy"},
};

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void box(uint8_t *m, int H, int W, int y0, int x0, int h, int w) {
  for (int y = y0; y < y0 + h && y < H; y++)
    for (int x = x0; x < x0 + w && x < W; x++) m[y * W + x] = 0;
}

/* NB masks [NB,H,W] (1 = visible): 0 nothing hidden, 1 everything hidden, 2-5 one small box, 6-8 several
 * boxes, 9-11 a ReX-like split (quadrants, some hidden). */
static void make_masks(uint8_t *m, int H, int W, uint64_t *rs) {
  size_t hw = (size_t)H * W;
  memset(m, 1, NB * hw);
  memset(m + hw, 0, hw);
  for (int b = 2; b < 6; b++) {
    int s = 2 + (int)(rng_next(rs) % 5);
    box(m + b * hw, H, W, (int)(rng_next(rs) % (uint64_t)(H - s)), (int)(rng_next(rs) % (uint64_t)(W - s)), s,
        s);
  }
  for (int b = 6; b < 9; b++)
    for (int k = 0; k < 3; k++) {
      int s = 2 + (int)(rng_next(rs) % 6);
      box(m + b * hw, H, W, (int)(rng_next(rs) % (uint64_t)(H - s)), (int)(rng_next(rs) % (uint64_t)(W - s)),
          s, s);
    }
  int cy = H / 2 + (int)(rng_next(rs) % 3) - 1, cx = W / 2 + (int)(rng_next(rs) % 3) - 1;
  int q[4][4] = {{0, 0, cy, cx}, {0, cx, cy, W - cx}, {cy, 0, H - cy, cx}, {cy, cx, H - cy, W - cx}};
  for (int b = 9; b < 12; b++)
    for (int k = 0; k < 4; k++)
      if ((b + k) % 3 == 0) box(m + b * hw, H, W, q[k][0], q[k][1], q[k][2], q[k][3]);
}

static int argmax(const float *x, int n) {
  int a = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[a]) a = i;
  return a;
}

/* One model through the current ADX_CONV: images raw [nimg,C,H,W] (normalised by norm) x fills x NB masks,
 * `reps` batches each. |incremental - full| <= tol (relative: tol * max(1, max |logit|)) and the same argmax,
 * nothing hidden bit for bit the plain run. Returns the number of Conv samples the partial path computed. */
/* NB masks asked with incremental queries off (logits into full, [NB, ncls]) and then on (returned). */
static const float *query_both(adx_engine *e, const adx_mode *m, const adx_norm *norm, const float *raw,
                               const float *src, const uint8_t *masks, float *full, int ncls) {
  const adx_tensor *out;
  adx_engine_set_incremental(e, 0);
  TU_OK(adx_engine_query(e, m, norm, raw, src, masks, NB, &out, err));
  memcpy(full, adx_f32(out), sizeof(float) * NB * (size_t)ncls);
  adx_engine_set_incremental(e, 1);
  TU_OK(adx_engine_query(e, m, norm, raw, src, masks, NB, &out, err));
  return adx_f32(out);
}

static const char *const ad_modes[] = {"ad",
                                       "ad:ratio:0.5:all:none:checkpoints",
                                       "ad:strict:all:none:every",
                                       "ad:loose:active:none",
                                       "ad:ratio:0.5:all:leak:every",
                                       "ad:ratio:0.5:all:partial:every"};

static long check_model(const char *onnx, const float *imgs, int nimg, const adx_norm *norm, int nfill,
                        int nad, int reps, double tol, int relative, double *worst) {
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  TU_OK(adx_model_load(onnx, NULL, &g, err));
  TU_OK(adx_engine_create(g, 2, &e, err));
  const adx_value *iv = adx_engine_input(e);
  int C = (int)iv->dims[1], H = (int)iv->dims[2], W = (int)iv->dims[3];
  size_t hw = (size_t)H * W, chw = (size_t)C * hw;
  float *src = malloc(sizeof(float) * chw);
  uint8_t *masks = calloc(NB, hw);
  int ncls = (int)(adx_value_numel(&g->values[g->outputs[0]]) / g->batch);
  float *full = malloc(sizeof(float) * NB * (size_t)ncls), *plain = malloc(sizeof(float) * (size_t)ncls);
  assert_non_null(src);
  assert_non_null(masks);
  assert_non_null(full);
  assert_non_null(plain);
  const char *fills[] = {"fill:zero", "fill:blur", "fill:mean"};
  uint64_t rs = 0x9e3779b97f4a7c15ull;
  adx_mode plain_mode = {.kind = ADX_MODE_PLAIN};
  long ad_partial = 0;
  for (int ii = 0; ii < nimg; ii++) {
    const float *raw = imgs + (size_t)ii * chw;
    const adx_tensor *out;
    adx_engine_set_incremental(e, 0);
    TU_OK(adx_engine_query(e, &plain_mode, norm, raw, NULL, masks, 1, &out, err));
    memcpy(plain, adx_f32(out), sizeof(float) * (size_t)ncls);
    for (int fi = 0; fi < nfill; fi++) {
      adx_mode m;
      TU_OK(adx_mode_parse(fills[fi], &m, err));
      TU_OK(adx_fill_source(&m, raw, C, H, W, src, err));
      for (int rep = 0; rep < reps; rep++) { /* later batches reuse the image's base */
        make_masks(masks, H, W, &rs);
        const float *inc = query_both(e, &m, norm, raw, src, masks, full, ncls);
        for (int b = 0; b < NB; b++) {
          double d = tu_max_abs_diff(inc + b * ncls, full + b * ncls, (size_t)ncls), scale = 1.0;
          for (int k = 0; relative && k < ncls; k++) scale = fmax(scale, fabs(full[b * ncls + k]));
          if (d / scale > *worst) *worst = d / scale;
          if (d > tol * scale || argmax(inc + b * ncls, ncls) != argmax(full + b * ncls, ncls))
            fail_msg(
                "%s %s image %d mask %d: incremental differs from the full run by %.3g (logit scale %.3g)",
                onnx, fills[fi], ii, b, d, scale);
        }
        /* nothing hidden: bit for bit the plain run */
        assert_memory_equal(inc, plain, sizeof(float) * (size_t)ncls);
      }
    }
    /* AD: the same bits incrementally as in full, under every placement and renormalisation (partial and
     * the BLAS path run in full: trivially equal there) */
    long st0[3], st1[3];
    adx_engine_incremental_stats(e, st0);
    for (int ai = 0; ai < nad; ai++) {
      adx_mode m;
      TU_OK(adx_mode_parse(ad_modes[ai], &m, err));
      make_masks(masks, H, W, &rs);
      const float *inc = query_both(e, &m, norm, raw, NULL, masks, full, ncls);
      for (int b = 0; b < NB; b++)
        if (memcmp(inc + b * ncls, full + b * ncls, sizeof(float) * (size_t)ncls))
          fail_msg("%s %s image %d mask %d: incremental AD differs from the full run by %.3g", onnx,
                   ad_modes[ai], ii, b, tu_max_abs_diff(inc + b * ncls, full + b * ncls, (size_t)ncls));
    }
    adx_engine_incremental_stats(e, st1);
    ad_partial += st1[1] - st0[1];
  }
  /* through oneDNN the AD samples' changed band must really have been computed alone somewhere */
  if (nad && adx_conv_backend() == 1 && ad_partial == 0) fail_msg("%s: incremental AD never ran", onnx);
  long st[3];
  adx_engine_incremental_stats(e, st);
  print_message("%-40s ADX_CONV=%-5s conv samples copied %ld, partial %ld, full %ld\n", onnx,
                getenv("ADX_CONV") ? getenv("ADX_CONV") : "dnnl", st[0], st[1], st[2]);
  free(src);
  free(masks);
  free(full);
  free(plain);
  adx_engine_free(e);
  adx_graph_free(g);
  return st[1];
}

/* A fixture model on three of its test images (uint8 [32,H,W], read as float). */
static long check_fixture(const fixture *f, double *worst) {
  char path[512], mpath[512], buf[512];
  adx_tensor imgs = {0};
  TU_OK(adx_npy_load(tu_data(path, sizeof path, f->images), &imgs, err));
  size_t hw = (size_t)imgs.dims[1] * (size_t)imgs.dims[2];
  const int pick[] = {0, 7, 19};
  float *raw = malloc(sizeof(float) * 3 * hw);
  assert_non_null(raw);
  for (int i = 0; i < 3; i++) memcpy(raw + i * hw, adx_f32(&imgs) + (size_t)pick[i] * hw, sizeof(float) * hw);
  adx_norm norm;
  adx_norm_identity(&norm);
  norm.scale = 1.0f / 255.0f;
  norm.nmean = norm.nstd = 1;
  norm.mean[0] = 0.2860f;
  norm.std[0] = 0.3530f;
  snprintf(buf, sizeof buf, "%s.onnx", f->model);
  int vg = getenv("ADX_VALGRIND") != NULL; /* valgrind is ~50x slower: one image, one fill, one batch */
  long n = check_model(tu_data(mpath, sizeof mpath, buf), raw, vg ? 1 : 3, &norm, vg ? 1 : 3,
                       vg ? 1 : (int)(sizeof ad_modes / sizeof ad_modes[0]), vg ? 1 : 2, 1e-5, 0, worst);
  free(raw);
  adx_tensor_free(&imgs);
  return n;
}

static void run_all(const char *conv) {
  char *saved = getenv("ADX_CONV") ? strdup(getenv("ADX_CONV")) : NULL;
  if (conv)
    setenv("ADX_CONV", conv, 1);
  else
    unsetenv("ADX_CONV");
  double worst = 0;
  for (size_t k = 0; k < sizeof fixtures / sizeof fixtures[0]; k++)
    assert_true(check_fixture(&fixtures[k], &worst) > 0); /* the partial path ran */
  print_message("worst |incremental - full| = %.3g\n", worst);
  /* through oneDNN the changed positions come from crops of each layer (the layer's own kernel) and the
   * rest from the base: the same bits as the full run */
  if (!conv && adx_conv_backend() == 1 && adx_layout_setting() == 1 && worst != 0.0)
    fail_msg("oneDNN path: incremental differs from the full run by %.3g, not bit for bit", worst);
  if (saved) {
    setenv("ADX_CONV", saved, 1);
    free(saved);
  } else {
    unsetenv("ADX_CONV");
  }
}

static void test_incremental_dnnl(void **state) {
  if (getenv("ADX_VALGRIND"))
    skip(); /* oneDNN's JIT under valgrind costs minutes; the blas case runs there */
  run_all(NULL);
}
static void test_incremental_blas(void **state) { run_all("blas"); }

/* The base follows the image: the same buffer with new pixels, and a new normalisation, are noticed. */
static void test_incremental_cache(void **state) {
  char path[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  adx_tensor imgs = {0};
  TU_OK(adx_model_load(tu_data(path, sizeof path, "fashion_resnet.onnx"), NULL, &g, err));
  TU_OK(adx_engine_create(g, 2, &e, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "fashion_test32_images.npy"), &imgs, err));
  const size_t hw = 784;
  float raw[784], src[784], full[NB * 10];
  uint8_t masks[NB * 784];
  adx_norm norm;
  adx_norm_identity(&norm);
  norm.scale = 1.0f / 255.0f;
  adx_mode m;
  TU_OK(adx_mode_parse("fill:mean", &m, err));
  uint64_t rs = 12345;
  for (int k = 0; k < 4; k++) {
    /* the same buffer, new content */
    memcpy(raw, adx_f32(&imgs) + (size_t)(k < 2 ? k : 3) * hw, sizeof raw);
    if (k == 3) norm.scale = 1.0f / 200.0f; /* same pixels as k == 2, new normalisation */
    TU_OK(adx_fill_source(&m, raw, 1, 28, 28, src, err));
    make_masks(masks, 28, 28, &rs);
    const adx_tensor *out;
    adx_engine_set_incremental(e, 0);
    TU_OK(adx_engine_query(e, &m, &norm, raw, src, masks, NB, &out, err));
    memcpy(full, adx_f32(out), sizeof full);
    adx_engine_set_incremental(e, 1);
    TU_OK(adx_engine_query(e, &m, &norm, raw, src, masks, NB, &out, err));
    double d = tu_max_abs_diff(adx_f32(out), full, NB * 10);
    if (d > 1e-5) fail_msg("query %d: incremental differs from the full run by %.3g", k, d);
  }
  adx_tensor_free(&imgs);
  adx_engine_free(e);
  adx_graph_free(g);
}

/* ADX_INCREMENTAL and ADX_INCREMENTAL_FRACTION: valid values set the engine, others are refused. */
static void test_incremental_env(void **state) {
  double frac;
  setenv("ADX_INCREMENTAL", "1", 1);
  unsetenv("ADX_INCREMENTAL_FRACTION");
  assert_int_equal(adx_incremental_setting(&frac), 1);
  assert_true(frac == ADX_INCREMENTAL_DEFAULT_FRACTION);
  setenv("ADX_INCREMENTAL", "0", 1);
  setenv("ADX_INCREMENTAL_FRACTION", "0.25", 1);
  assert_int_equal(adx_incremental_setting(&frac), 0);
  assert_true(frac == 0.25);
  setenv("ADX_INCREMENTAL", "yes", 1);
  assert_int_equal(adx_incremental_setting(&frac), -1);
  setenv("ADX_INCREMENTAL", "1", 1);
  setenv("ADX_INCREMENTAL_FRACTION", "2", 1);
  adx_incremental_setting(&frac);
  assert_true(frac < 0);
  char path[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  adx_error er = {0};
  TU_OK(adx_model_load(tu_data(path, sizeof path, "fashion_resnet.onnx"), NULL, &g, err));
  assert_int_not_equal(adx_engine_create(g, 1, &e, &er), ADX_OK);
  assert_non_null(strstr(er.msg, "ADX_INCREMENTAL_FRACTION"));
  unsetenv("ADX_INCREMENTAL");
  unsetenv("ADX_INCREMENTAL_FRACTION");
  TU_OK(adx_engine_create(g, 1, &e, err));
  assert_int_equal(adx_engine_incremental(e), ADX_INCREMENTAL_DEFAULT);
  adx_engine_free(e);
  adx_graph_free(g);
}

/* Models not in the repo (scripts/check_zoo.py sets these): ADX_INCR_ZOO, a comma-separated list of ONNX
 * files with a [1,3,224,224]-style input, and ADX_INCR_ZOO_INPUT, a float32 .npy [N,C,H,W] of raw images. */
static void test_incremental_zoo(void **state) {
  const char *list = getenv("ADX_INCR_ZOO"), *input = getenv("ADX_INCR_ZOO_INPUT");
  assert_non_null(list);
  assert_non_null(input);
  adx_tensor imgs = {0};
  TU_OK(adx_npy_load(input, &imgs, err));
  adx_norm norm;
  adx_norm_identity(&norm);
  char *copy = strdup(list);
  double worst = 0;
  for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ","))
    assert_true(check_model(tok, adx_f32(&imgs), (int)imgs.dims[0], &norm, 2, 2, 1, 1e-5, 1, &worst) > 0);
  print_message("worst |incremental - full| / max(1, max |logit|) = %.3g\n", worst);
  if (adx_conv_backend() == 1 && adx_layout_setting() == 1 && worst != 0.0)
    fail_msg("oneDNN path: incremental differs from the full run by %.3g, not bit for bit", worst);
  free(copy);
  adx_tensor_free(&imgs);
}

int main(void) {
  if (getenv("ADX_INCR_ZOO")) {
    const struct CMUnitTest zoo[] = {cmocka_unit_test(test_incremental_zoo)};
    return cmocka_run_group_tests(zoo, NULL, NULL);
  }
  unsetenv("ADX_INCREMENTAL");
  unsetenv("ADX_INCREMENTAL_FRACTION");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_incremental_dnnl),
      cmocka_unit_test(test_incremental_blas),
      cmocka_unit_test(test_incremental_cache),
      cmocka_unit_test(test_incremental_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
