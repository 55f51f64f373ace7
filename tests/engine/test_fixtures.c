/* The fixture models against PyTorch: logits on 32 test images (reference from scripts/make_fixtures.py)
 * and the whole Fashion-MNIST test-set accuracy. Also: a sample's logits do not depend on the batch
 * it is computed in. */
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

static const char *const models[] = {"fashion_resnet", "fashion_resnet_bn", "fashion_vgg"};

static void parity(const char *name) {
  char path[512], buf[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  adx_tensor in = {0}, ref = {0};
  snprintf(buf, sizeof buf, "%s.onnx", name);
  TU_OK(adx_model_load(tu_data(path, sizeof path, buf), NULL, &g, err));
  TU_OK(adx_engine_create(g, 2, &e, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, "fashion_test32_input.npy"), &in, err));
  const char *logits_name = strstr(name, "resnet") ? "fashion_resnet_logits.npy" : "fashion_vgg_logits.npy";
  TU_OK(adx_npy_load(tu_data(path, sizeof path, logits_name), &ref, err));
  assert_int_equal(in.dims[0], 32);
  const adx_tensor *out;
  TU_OK(adx_engine_run(e, &in, &out, err));
  assert_int_equal(out->ndim, 2);
  assert_int_equal(out->dims[0], 32);
  assert_int_equal(out->dims[1], 10);
  double d = tu_max_abs_diff(adx_f32(out), adx_f32(&ref), 320);
  print_message("%s: max |adx - torch| over 32x10 logits = %.3g\n", name, d);
  assert_true(d <= 1e-4);
  /* Batch invariance: each sample alone, and a batch of 7 starting at sample 5, bit-identical. */
  float *full = malloc(sizeof(float) * 320);
  memcpy(full, adx_f32(out), sizeof(float) * 320);
  size_t chw = 28 * 28;
  for (int i = 0; i < 32; i += 5) {
    adx_tensor one = {.dtype = ADX_F32, .ndim = 4, .dims = {1, 1, 28, 28}, .data = adx_f32(&in) + i * chw};
    TU_OK(adx_engine_run(e, &one, &out, err));
    assert_memory_equal(adx_f32(out), full + i * 10, sizeof(float) * 10);
  }
  adx_tensor seven = {.dtype = ADX_F32, .ndim = 4, .dims = {7, 1, 28, 28}, .data = adx_f32(&in) + 5 * chw};
  TU_OK(adx_engine_run(e, &seven, &out, err));
  assert_memory_equal(adx_f32(out), full + 50, sizeof(float) * 70);
  free(full);
  adx_tensor_free(&in);
  adx_tensor_free(&ref);
  adx_engine_free(e);
  adx_graph_free(g);
}

static void test_parity_resnet(void **state) { parity(models[0]); }
static void test_parity_resnet_bn(void **state) { parity(models[1]); }
static void test_parity_vgg(void **state) { parity(models[2]); }

/* Whole t10k accuracy equals the count PyTorch measured (tests/data/fixtures.json). */
static void accuracy(const char *name) {
  if (getenv("ADX_VALGRIND") || getenv("ADX_SANITIZED")) skip(); /* 10000 images: too slow there */
  char path[512], buf[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  adx_idx imgs, labels;
  snprintf(buf, sizeof buf, "%s.onnx", name);
  TU_OK(adx_model_load(tu_data(path, sizeof path, buf), NULL, &g, err));
  TU_OK(adx_engine_create(g, 2, &e, err));
  TU_OK(adx_idx_load("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", 0, &imgs, err));
  TU_OK(adx_idx_load("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", 0, &labels, err));
  const int B = 500, n = (int)imgs.dims[0];
  float *x = malloc(sizeof(float) * B * 784);
  long correct = 0;
  for (int s = 0; s < n; s += B) {
    for (int i = 0; i < B * 784; i++) x[i] = (imgs.data[(size_t)s * 784 + i] / 255.0f - 0.2860f) / 0.3530f;
    adx_tensor t = {.dtype = ADX_F32, .ndim = 4, .dims = {B, 1, 28, 28}, .data = x};
    const adx_tensor *out;
    TU_OK(adx_engine_run(e, &t, &out, err));
    for (int b = 0; b < B; b++) {
      const float *l = adx_f32(out) + b * 10;
      int best = 0;
      for (int k = 1; k < 10; k++)
        if (l[k] > l[best]) best = k;
      correct += best == labels.data[s + b];
    }
  }
  snprintf(buf, sizeof buf, "\"onnx\": \"%s.onnx\"", name);
  long want = tu_json_int(tu_data(path, sizeof path, "fixtures.json"), buf, "test_correct");
  print_message("%s: adx %ld / %d correct, PyTorch %ld\n", name, correct, n, want);
  assert_true(want > 0);
  assert_int_equal(correct, want);
  free(x);
  adx_idx_free(&imgs);
  adx_idx_free(&labels);
  adx_engine_free(e);
  adx_graph_free(g);
}

static void test_accuracy_resnet(void **state) { accuracy(models[0]); }
static void test_accuracy_vgg(void **state) { accuracy(models[2]); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parity_resnet), cmocka_unit_test(test_parity_resnet_bn),
      cmocka_unit_test(test_parity_vgg),    cmocka_unit_test(test_accuracy_resnet),
      cmocka_unit_test(test_accuracy_vgg),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
