/* Determinism: the same seed gives byte-identical responsibility maps, rankings and explanations whatever
 * the thread count (1, 2) and the oracle's batch size (1, 7, 64), on the hand-built pattern model and on
 * the fixture ResNet (whose engine must then be batch-invariant: AD and fill runs of a mutant alone and in a
 * batch of 64 give the same bits). A different seed gives a different rex map (the seed is used). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/explain.h"
#include "adx/io.h"
#include "adx/model.h"
#include "common/testutil.h"
#include "tiny_graphs.h"

typedef struct result {
  float *map;
  int32_t *order;
  uint8_t *expl;
  int size;
  float p;
  int64_t queries;
} result;

static void result_free(result *r) {
  free(r->map);
  free(r->order);
  free(r->expl);
}

static void run(adx_graph *g, int threads, int batch, const adx_explainer *x, const char *mode,
                const adx_norm *n, const float *raw, uint64_t seed, result *r) {
  adx_engine *e;
  TU_OK(adx_engine_create(g, threads, &e, err));
  adx_mode m;
  TU_OK(adx_mode_parse(mode, &m, err));
  m.seed = seed;
  adx_oracle o;
  TU_OK(adx_oracle_init(&o, e, &m, n, raw, batch, err));
  int hw = o.H * o.W, target = 0;
  for (int k = 1; k < o.nclasses; k++)
    if (o.full[k] > o.full[target]) target = k;
  r->map = malloc(sizeof(float) * (size_t)hw);
  r->order = malloc(sizeof(int32_t) * (size_t)hw);
  r->expl = malloc((size_t)hw);
  TU_OK(adx_explain_responsibility(x, &o, target, seed, r->map, err));
  adx_rank_pixels(r->map, o.H, o.W, r->order);
  TU_OK(adx_explainer_extract(x, &o, target, r->order, o.full[target], r->expl, &r->size, &r->p, err));
  r->queries = o.queries;
  adx_oracle_free(&o);
  adx_engine_free(e);
}

static void expect_same(const result *a, const result *b, int hw, const char *what) {
  if (memcmp(a->map, b->map, sizeof(float) * (size_t)hw)) {
    int i = 0;
    while (a->map[i] == b->map[i]) i++;
    fail_msg("%s: maps differ first at pixel %d: %.9g vs %.9g", what, i, (double)a->map[i],
             (double)b->map[i]);
  }
  assert_memory_equal(a->order, b->order, sizeof(int32_t) * (size_t)hw);
  assert_memory_equal(a->expl, b->expl, (size_t)hw);
  assert_int_equal(a->size, b->size);
  assert_memory_equal(&a->p, &b->p, sizeof(float));
  assert_int_equal(a->queries, b->queries);
}

static const int configs[][2] = {{1, 1}, {2, 64}, {2, 7}, {1, 64}}; /* threads, max_batch */

static void check_invariance(adx_graph *g, const adx_explainer *x, const char *mode, const adx_norm *n,
                             const float *raw, int hw, uint64_t seed) {
  result ref, r;
  run(g, configs[0][0], configs[0][1], x, mode, n, raw, seed, &ref);
  int nconf =
      getenv("ADX_VALGRIND") ? 2 : (int)(sizeof configs / sizeof configs[0]); /* valgrind: memory only */
  for (int c = 1; c < nconf; c++) {
    char what[160];
    snprintf(what, sizeof what, "%s %s threads %d batch %d vs threads 1 batch 1", adx_explainer_name(x->kind),
             mode, configs[c][0], configs[c][1]);
    run(g, configs[c][0], configs[c][1], x, mode, n, raw, seed, &r);
    expect_same(&ref, &r, hw, what);
    result_free(&r);
  }
  result_free(&ref);
}

static void test_tiny_invariance(void **state) {
  adx_graph *g = tg_pattern_model(28, 2.0f, 4.5f);
  float img[784];
  adx_rng r;
  adx_rng_seed(&r, 3);
  for (int i = 0; i < 784; i++) img[i] = (float)(0.3 + 0.4 * adx_rng_uniform(&r));
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) img[(9 + y) * 28 + 14 + x] = TG_PATTERN[y * 4 + x] > 0 ? 0.9f : 0.1f;
  adx_norm n;
  adx_norm_identity(&n);
  adx_explainer x;
  adx_explainer_default(&x);
  const char *modes[] = {"ad", "fill:noise", "fill:zero", "fill:blur"};
  for (int k = 0; k < 2; k++) {
    x.kind = k ? ADX_EXPLAINER_SLIDING : ADX_EXPLAINER_REX;
    for (int mi = 0; mi < (getenv("ADX_VALGRIND") ? 2 : 4); mi++)
      check_invariance(g, &x, modes[mi], &n, img, 784, 11);
  }
  /* the seed is used: another seed, another rex map */
  x.kind = ADX_EXPLAINER_REX;
  result a, b;
  run(g, 1, 64, &x, "ad", &n, img, 11, &a);
  run(g, 1, 64, &x, "ad", &n, img, 12, &b);
  assert_memory_not_equal(a.map, b.map, sizeof(float) * 784);
  result_free(&a);
  result_free(&b);
  adx_graph_free(g);
}

/* The fixture ResNet, raw uint8 pixels with the Fashion-MNIST normalisation, two rex iterations. */
static void test_resnet_invariance(void **state) {
  if (getenv("ADX_VALGRIND")) skip(); /* minutes under valgrind; the tiny model covers the same code */
  char path[512];
  adx_graph *g;
  TU_OK(adx_model_load(tu_data(path, sizeof path, "fashion_resnet.onnx"), NULL, &g, err));
  adx_tensor imgs;
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "fashion_test32_images.npy"), &imgs, err));
  adx_norm n = {.scale = 1.0f / 255, .nmean = 1, .nstd = 1, .mean = {0.2860f}, .std = {0.3530f}};
  adx_explainer x;
  adx_explainer_default(&x);
  x.rex.iters = 2;
  check_invariance(g, &x, "ad", &n, adx_f32(&imgs) + 784, 784, 5);
  check_invariance(g, &x, "fill:zero", &n, adx_f32(&imgs) + 784, 784, 5);
  adx_tensor_free(&imgs);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiny_invariance),
      cmocka_unit_test(test_resnet_invariance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
