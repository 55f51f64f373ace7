/* Micro-batches (adx_engine_chunk): a batch run as consecutive passes of a few samples gives the same bits as
 * one pass of the whole batch, for adx_engine_run and for adx_engine_query in every kind of mode (plain,
 * fill, AD under three variants), with incremental queries off and on, at 1 and 2 threads, through oneDNN
 * and the BLAS path. The one-pass results are themselves checked against PyTorch (test_fixtures,
 * test_textured) and the incremental ones against the full recomputation (test_incremental). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"
#include "adx/core.h"
#include "adx/engine.h"
#include "adx/io.h"
#include "adx/model.h"
#include "common/testutil.h"

#define NB 13 /* masks per query: not a multiple of the pass sizes below */

static const char *const modes[] = {
    "fill:zero", "ad", "plain", "fill:blur", "ad:strict:all:none:every", "ad:ratio:0.5:all:partial:every"};
static const int passes[] = {5, 1, 6};

/* NB masks [NB,H,W] (1 = visible): mask b hides a box whose size and place depend on b; mask 0 none */
static void make_masks(uint8_t *m, int H, int W) {
  size_t hw = (size_t)H * W;
  memset(m, 1, NB * hw);
  for (int b = 1; b < NB; b++) {
    int s = 3 + (b * 5) % (H / 2), y0 = (b * 7) % (H - s), x0 = (b * 11) % (W - s);
    for (int y = y0; y < y0 + s; y++) memset(m + b * hw + (size_t)y * W + x0, 0, (size_t)s);
  }
}

static void check_model(const char *model, const char *images, int threads) {
  char path[512], buf[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  adx_tensor imgs = {0};
  snprintf(buf, sizeof buf, "%s.onnx", model);
  TU_OK(adx_model_load(tu_data(path, sizeof path, buf), NULL, &g, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, images), &imgs, err));
  TU_OK(adx_engine_create(g, threads, &e, err));
  const adx_value *iv = adx_engine_input(e);
  const int C = (int)iv->dims[1], H = (int)iv->dims[2], W = (int)iv->dims[3];
  const size_t hw = (size_t)H * W, chw = (size_t)C * hw;
  const int ncls = (int)(adx_value_numel(&g->values[g->outputs[0]]) / g->batch);
  assert_true(imgs.dims[0] >= NB && (size_t)(imgs.dims[1] * imgs.dims[2]) == chw);
  float *raw = malloc(sizeof(float) * chw * NB), *src = malloc(sizeof(float) * chw),
        *one = malloc(sizeof(float) * (size_t)NB * (size_t)ncls);
  uint8_t *masks = malloc(NB * hw);
  assert_non_null(raw);
  assert_non_null(src);
  assert_non_null(one);
  assert_non_null(masks);
  for (size_t i = 0; i < chw * NB; i++) raw[i] = adx_f32(&imgs)[i];
  adx_norm norm;
  adx_norm_identity(&norm);
  norm.scale = 1.0f / 255.0f;
  make_masks(masks, H, W);
  const adx_tensor *out;
  /* under valgrind (~50x slower): one pass size, two modes, incremental queries off */
  const int vg = getenv("ADX_VALGRIND") != NULL;
  const size_t npass = vg ? 1 : sizeof passes / sizeof *passes, nmode = vg ? 2 : sizeof modes / sizeof *modes;

  /* adx_engine_run on NB different images (normalised in place) */
  for (size_t i = 0; i < chw * NB; i++) raw[i] *= norm.scale;
  adx_tensor in = {.dtype = ADX_F32, .ndim = 4, .dims = {NB, C, H, W}, .data = raw};
  adx_engine_set_chunk(e, 1 << 20);
  TU_OK(adx_engine_run(e, &in, &out, err));
  assert_int_equal(out->dims[0], NB);
  memcpy(one, adx_f32(out), sizeof(float) * NB * (size_t)ncls);
  for (size_t p = 0; p < npass; p++) {
    adx_engine_set_chunk(e, passes[p]);
    assert_int_equal(adx_engine_chunk(e), passes[p]);
    TU_OK(adx_engine_run(e, &in, &out, err));
    assert_int_equal(out->dims[0], NB);
    if (memcmp(adx_f32(out), one, sizeof(float) * NB * (size_t)ncls))
      fail_msg("%s, %d thread(s): adx_engine_run in passes of %d differs from one pass by %.3g", model,
               threads, passes[p], tu_max_abs_diff(adx_f32(out), one, (size_t)NB * (size_t)ncls));
  }
  for (size_t i = 0; i < chw * NB; i++) raw[i] = adx_f32(&imgs)[i];

  /* adx_engine_query: one image, NB masks, every kind of mode, incremental off and on */
  for (int inc = 0; inc < (vg ? 1 : 2); inc++)
    for (size_t mi = 0; mi < nmode; mi++) {
      adx_mode m;
      TU_OK(adx_mode_parse(modes[mi], &m, err));
      if (m.kind == ADX_MODE_FILL) TU_OK(adx_fill_source(&m, raw, C, H, W, src, err));
      adx_engine_set_incremental(e, inc);
      adx_engine_set_chunk(e, 1 << 20);
      TU_OK(adx_engine_query(e, &m, &norm, raw, src, masks, NB, &out, err));
      memcpy(one, adx_f32(out), sizeof(float) * NB * (size_t)ncls);
      for (size_t p = 0; p < npass; p++) {
        adx_engine_set_chunk(e, passes[p]);
        TU_OK(adx_engine_query(e, &m, &norm, raw, src, masks, NB, &out, err));
        assert_int_equal(out->dims[0], NB);
        if (memcmp(adx_f32(out), one, sizeof(float) * NB * (size_t)ncls))
          fail_msg("%s, %d thread(s), %s, incremental %d: passes of %d differ from one pass by %.3g", model,
                   threads, modes[mi], inc, passes[p],
                   tu_max_abs_diff(adx_f32(out), one, (size_t)NB * (size_t)ncls));
      }
    }
  /* the engine's own choice: at least one sample per thread */
  adx_engine_set_chunk(e, 0);
  assert_true(adx_engine_chunk(e) >= threads);
  free(raw);
  free(src);
  free(one);
  free(masks);
  adx_tensor_free(&imgs);
  adx_engine_free(e);
  adx_graph_free(g);
}

/* the path ADX_CONV selects (oneDNN by default; the BLAS path under valgrind, one model and thread) */
static void test_chunk_engine(void **state) {
  if (getenv("ADX_VALGRIND")) {
    check_model("fashion_resnet", "fashion_test32_images.npy", 1);
    return;
  }
  for (int t = 1; t <= 2; t++) {
    check_model("fashion_resnet", "fashion_test32_images.npy", t);
    check_model("fashion_vgg", "fashion_test32_images.npy", t);
    check_model("textured_offset_resnet", "textured_offset_test32_images.npy", t);
  }
}

static void test_chunk_blas(void **state) {
  if (getenv("ADX_VALGRIND")) return; /* test_chunk_engine ran it */
  char *saved = getenv("ADX_CONV") ? strdup(getenv("ADX_CONV")) : NULL;
  setenv("ADX_CONV", "blas", 1);
  check_model("fashion_resnet", "fashion_test32_images.npy", 2);
  if (saved) {
    setenv("ADX_CONV", saved, 1);
    free(saved);
  } else {
    unsetenv("ADX_CONV");
  }
}

static void test_chunk_env(void **state) {
  char path[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  TU_OK(adx_model_load(tu_data(path, sizeof path, "fashion_resnet.onnx"), NULL, &g, err));
  const char *bad[] = {"0", "-3", "4x", "many"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    setenv("ADX_CHUNK", bad[i], 1);
    assert_int_equal(adx_chunk_setting(), -1);
    adx_error er = {0};
    assert_int_not_equal(adx_engine_create(g, 1, &e, &er), ADX_OK);
    assert_null(e);
    assert_non_null(strstr(er.msg, "ADX_CHUNK"));
    assert_non_null(strstr(er.msg, bad[i]));
  }
  setenv("ADX_CHUNK", "7", 1);
  TU_OK(adx_engine_create(g, 1, &e, err));
  assert_int_equal(adx_engine_chunk(e), 7);
  adx_engine_free(e);
  setenv("ADX_CHUNK", "auto", 1);
  assert_int_equal(adx_chunk_setting(), 0);
  unsetenv("ADX_CHUNK");
  assert_int_equal(adx_chunk_setting(), 0);
  adx_graph_free(g);
}

int main(void) {
  unsetenv("ADX_CHUNK");
  unsetenv("ADX_INCREMENTAL");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chunk_engine),
      cmocka_unit_test(test_chunk_blas),
      cmocka_unit_test(test_chunk_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
