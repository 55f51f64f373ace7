/* End to end: load a model (with its folding passes), run it with the engine and compare with an
 * independent reference: numpy outputs written by scripts/make_model_tests.py, and PyTorch's logits
 * for the Fashion-MNIST ResNet exported with BatchNormalization kept (so BN folding is checked against
 * PyTorch's own BN). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "adx/engine.h"
#include "adx/io.h"
#include "adx/model.h"
#include "common/testutil.h"

#define TOL 1e-4

/* Run models/<name>.onnx on <name>_input_0.pb, compare with <name>_output_0.pb. */
static void run_case(const char *name) {
  char mp[1024], ip[1024], op[1024], rel[512];
  snprintf(rel, sizeof rel, "models/%s.onnx", name);
  tu_data(mp, sizeof mp, rel);
  snprintf(rel, sizeof rel, "models/%s_input_0.pb", name);
  tu_data(ip, sizeof ip, rel);
  snprintf(rel, sizeof rel, "models/%s_output_0.pb", name);
  tu_data(op, sizeof op, rel);
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  adx_tensor x, want;
  const adx_tensor *y = NULL;
  TU_OK(adx_model_load(mp, NULL, &g, err));
  TU_OK(adx_tensor_load_pb(ip, &x, err));
  TU_OK(adx_tensor_load_pb(op, &want, err));
  assert_true(x.dims[0] > 1); /* a batch other than the model's own 1 */
  TU_OK(adx_engine_create(g, 1, &e, err));
  TU_OK(adx_engine_run(e, &x, &y, err));
  assert_int_equal(y->ndim, want.ndim);
  for (int i = 0; i < want.ndim; i++) assert_int_equal(y->dims[i], want.dims[i]);
  double d = tu_max_abs_diff(adx_f32(y), adx_f32(&want), (size_t)adx_tensor_numel(&want));
  if (!(d <= TOL)) fail_msg("%s: max abs error %g > %g", name, d, TOL);
  /* the same images one at a time give the same rows (nothing mixes across the batch) */
  int64_t per = adx_tensor_numel(&x) / x.dims[0], wper = adx_tensor_numel(&want) / want.dims[0];
  for (int64_t b = 0; b < x.dims[0]; b++) {
    adx_tensor one = x;
    one.dims[0] = 1;
    one.owns_data = 0;
    one.data = adx_f32(&x) + b * per;
    TU_OK(adx_engine_run(e, &one, &y, err));
    d = tu_max_abs_diff(adx_f32(y), adx_f32(&want) + b * wper, (size_t)wper);
    if (!(d <= TOL)) fail_msg("%s: image %lld alone: max abs error %g", name, (long long)b, d);
  }
  adx_engine_free(e);
  adx_tensor_free(&x);
  adx_tensor_free(&want);
  adx_graph_free(g);
}

static void test_conv_bn(void **state) {
  (void)state;
  run_case("conv_bn");
}

static void test_external(void **state) {
  (void)state;
  run_case("external");
}

static void test_view(void **state) {
  (void)state;
  run_case("view");
}

static void test_view_static(void **state) {
  (void)state;
  run_case("view_static");
}

/* fashion_resnet_bn.onnx keeps its BatchNormalization nodes; adx folds them at load. */
static void test_resnet_bn_vs_pytorch(void **state) {
  (void)state;
  char mp[1024], ip[1024], lp[1024];
  tu_data(mp, sizeof mp, "fashion_resnet_bn.onnx");
  tu_data(ip, sizeof ip, "fashion_test32_input.npy");
  tu_data(lp, sizeof lp, "fashion_resnet_logits.npy");
  FILE *f = fopen(mp, "rb");
  if (!f) skip(); /* fixtures not generated */
  fclose(f);
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  adx_tensor x, want;
  const adx_tensor *y = NULL;
  TU_OK(adx_model_load(mp, NULL, &g, err));
  TU_OK(adx_npy_load(ip, &x, err));
  TU_OK(adx_npy_load(lp, &want, err));
  TU_OK(adx_engine_create(g, 0, &e, err));
  TU_OK(adx_engine_run(e, &x, &y, err));
  assert_int_equal(y->dims[0], want.dims[0]);
  assert_int_equal(y->dims[1], want.dims[1]);
  double d = tu_max_abs_diff(adx_f32(y), adx_f32(&want), (size_t)adx_tensor_numel(&want));
  if (!(d <= 1e-3)) fail_msg("max abs error vs PyTorch %g", d); /* logits of magnitude ~10, 28x28 convs */
  adx_engine_free(e);
  adx_tensor_free(&x);
  adx_tensor_free(&want);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_bn),
      cmocka_unit_test(test_external),
      cmocka_unit_test(test_view),
      cmocka_unit_test(test_view_static),
      cmocka_unit_test(test_resnet_bn_vs_pytorch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
