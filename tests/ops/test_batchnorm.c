/* BatchNormalization at inference: hand-computed per-channel affine values, default epsilon, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/optest.h"

/* ---------------- BatchNormalization ---------------- */

static void test_batchnorm(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 4, DIMS(2, 2, 1, 2), 1);
  ot_const(g, "s", ADX_F32, 1, DIMS(2), FVALS(1.f, 2.f));
  ot_const(g, "b", ADX_F32, 1, DIMS(2), FVALS(0.f, 1.f));
  ot_const(g, "m", ADX_F32, 1, DIMS(2), FVALS(1.f, -1.f));
  ot_const(g, "v", ADX_F32, 1, DIMS(2), FVALS(4.f, 0.25f));
  int ni = ot_node(g, "BatchNormalization", "x,s,b,m,v", "y", 1, ot_attrs(1, ot_float("epsilon", 0.f)));
  adx_tensor X = ot_tensor(ADX_F32, 4, DIMS(2, 2, 1, 2), FVALS(1, 3, -1, 0, 5, -3, 1, 2)), Y[3];
  adx_error e = {0};
  assert_int_equal(ot_run(g, ni, (const adx_tensor *[]){&X, NULL, NULL, NULL, NULL}, Y, 1, &e), ADX_OK);
  /* c0: (x-1)/2*1+0 ; c1: (x+1)/0.5*2+1 = 4x+5 */
  ot_near(adx_f32(&Y[0]), FVALS(0, 1, 1, 5, 2, -2, 9, 13), 8, 1e-6);
  assert_int_equal(g->values[g->nodes[ni].out[0]].batched, 1);
  assert_int_equal(g->nodes[ni].op->ad, ADX_AD_POINTWISE);
  ot_free(Y, 1);
  /* default epsilon 1e-5 */
  int n2 = ot_node(g, "BatchNormalization", "x,s,b,m,v", "y2", 0, NULL);
  assert_int_equal(ot_run(g, n2, (const adx_tensor *[]){&X, NULL, NULL, NULL, NULL}, Y, 1, &e), ADX_OK);
  assert_true(fabsf(adx_f32(&Y[0])[1] - (float)(2.0 / sqrt(4.00001))) < 1e-6f);
  ot_free(Y, 1);
  int n3 = ot_node(g, "BatchNormalization", "x,s,b,m,v", "y3", 1, ot_attrs(1, ot_int("training_mode", 1)));
  assert_int_equal(ot_infer(g, n3, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "training_mode");
  ot_const(g, "s3", ADX_F32, 1, DIMS(3), FVALS(1.f, 2.f, 3.f));
  int n4 = ot_node(g, "BatchNormalization", "x,s3,b,m,v", "y4", 0, NULL);
  assert_int_equal(ot_infer(g, n4, &e), ADX_ERR_SHAPE);
  ot_msg_has(&e, "'s3'");
  /* Training outputs listed but unread (old exports): running stats pass through. */
  int n5 = ot_node(g, "BatchNormalization", "x,s,b,m,v", "y5,rm,rv", 0, NULL);
  assert_int_equal(ot_run(g, n5, (const adx_tensor *[]){&X, NULL, NULL, NULL, NULL}, Y, 1, &e), ADX_OK);
  ot_near(adx_f32(&Y[1]), FVALS(1.f, -1.f), 2, 0);
  ot_near(adx_f32(&Y[2]), FVALS(4.f, 0.25f), 2, 0);
  ot_free(Y, 3);
  ot_node(g, "Relu", "rv", "used", 0, NULL);
  assert_int_equal(ot_infer(g, n5, &e), ADX_ERR_UNSUPPORTED);
  adx_tensor_free(&X);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batchnorm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
