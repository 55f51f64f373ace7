/* The textured fixture (scripts/make_fixtures.py --textured) against PyTorch: logits on 32 textured test
 * images, and top-1 accuracy on the 1000 committed textured test images read the way `adx explain` reads
 * them: the IDX dataset source (labels found beside the images) and the [preprocess] section of
 * configs/textured.ini. The accuracy must equal the count PyTorch measured (tests/data/fixtures.json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/dataset.h"
#include "adx/engine.h"
#include "adx/io.h"
#include "adx/model.h"
#include "common/testutil.h"

#define HW (28 * 28)
#define NCLS 10

static void load_engine(adx_graph **g, adx_engine **e) {
  char path[512];
  TU_OK(adx_model_load(tu_data(path, sizeof path, "textured_resnet.onnx"), NULL, g, err));
  TU_OK(adx_engine_create(*g, 2, e, err));
}

/* The configuration's preprocessing (the file sits two folders above the test data, in configs/). */
static void load_preproc(adx_preproc *pp) {
  char path[512];
  adx_config cfg = {0};
  adx_preproc_default(pp);
  TU_OK(adx_config_load(tu_data(path, sizeof path, "../../configs/textured.ini"), &cfg, err));
  TU_OK(adx_config_apply_preprocess(&cfg, pp, err));
  adx_config_free(&cfg);
}

static void test_parity(void **state) {
  char path[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  adx_tensor in = {0}, ref = {0};
  load_engine(&g, &e);
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "textured_test32_input.npy"), &in, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "textured_resnet_logits.npy"), &ref, err));
  assert_int_equal(in.dims[0], 32);
  const adx_tensor *out;
  TU_OK(adx_engine_run(e, &in, &out, err));
  assert_int_equal(out->ndim, 2);
  assert_int_equal(out->dims[0], 32);
  assert_int_equal(out->dims[1], NCLS);
  double d = tu_max_abs_diff(adx_f32(out), adx_f32(&ref), 32 * NCLS);
  print_message("textured_resnet: max |adx - torch| over 32x10 logits = %.3g\n", d);
  assert_true(d <= 1e-4);
  adx_tensor_free(&in);
  adx_tensor_free(&ref);
  adx_engine_free(e);
  adx_graph_free(g);
}

/* The committed IDX file through the dataset source and the config's normalisation gives the model input
 * PyTorch was given (items 0..31), then the accuracy over all 1000 items equals PyTorch's. */
static void test_dataset_accuracy(void **state) {
  if (getenv("ADX_VALGRIND")) skip(); /* 1000 images: too slow there */
  char path[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  adx_dataset *ds = NULL;
  adx_tensor ref = {0};
  adx_preproc pp;
  load_preproc(&pp);
  load_engine(&g, &e);
  TU_OK(adx_dataset_open(tu_data(path, sizeof path, "datasets/textured-t10k-images-idx3-ubyte.gz"), &pp, 1,
                         28, 28, &ds, err));
  assert_string_equal(adx_dataset_kind(ds), "idx");
  const int n = (int)adx_dataset_size(ds);
  assert_int_equal(n, 1000);
  assert_int_equal(adx_dataset_nclasses(ds), NCLS);
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "textured_test32_input.npy"), &ref, err));

  const int B = 200;
  float *x = malloc(sizeof(float) * B * HW);
  int32_t *lab = malloc(sizeof(int32_t) * B);
  assert_non_null(x);
  assert_non_null(lab);
  long correct = 0;
  for (int s = 0; s < n; s += B) {
    for (int b = 0; b < B; b++) {
      TU_OK(adx_dataset_get(ds, s + b, x + (size_t)b * HW, &lab[b], err));
      assert_true(lab[b] >= 0 && lab[b] < NCLS);
      adx_preproc_normalize(&pp, x + (size_t)b * HW, 1, 28, 28, x + (size_t)b * HW);
    }
    if (s == 0) {
      double d = tu_max_abs_diff(x, adx_f32(&ref), 32 * HW);
      print_message("textured input: max |adx - numpy| over 32 images = %.3g\n", d);
      assert_true(d <= 1e-6);
    }
    adx_tensor t = {.dtype = ADX_F32, .ndim = 4, .dims = {B, 1, 28, 28}, .data = x};
    const adx_tensor *out;
    TU_OK(adx_engine_run(e, &t, &out, err));
    for (int b = 0; b < B; b++) {
      const float *l = adx_f32(out) + b * NCLS;
      int best = 0;
      for (int k = 1; k < NCLS; k++)
        if (l[k] > l[best]) best = k;
      correct += best == lab[b];
    }
  }
  long want = tu_json_int(tu_data(path, sizeof path, "fixtures.json"), "\"onnx\": \"textured_resnet.onnx\"",
                          "subset_correct");
  print_message("textured_resnet: adx %ld / %d correct, PyTorch %ld\n", correct, n, want);
  assert_true(want > 0);
  assert_int_equal(correct, want);
  free(x);
  free(lab);
  adx_tensor_free(&ref);
  adx_dataset_close(ds);
  adx_engine_free(e);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parity),
      cmocka_unit_test(test_dataset_accuracy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
