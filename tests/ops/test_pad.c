/* Pad: constant / reflect / edge against numpy.pad results (computed by hand for these small inputs),
 * pads as attributes (opset < 11) and inputs, constant_value input, negative pads (crop), axes input
 * (opset 18), int64, errors and the batch rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/optest.h"

static const float A23[6] = {1, 2, 3, 4, 5, 6};

static void pad_run(adx_graph *g, int n, const adx_tensor *x, const adx_tensor *cval, int ond,
                    const int64_t *od, const float *want) {
  adx_tensor Y[1];
  adx_error e = {0};
  const adx_tensor *args[4] = {x, NULL, cval, NULL};
  if (ot_run(g, n, args, Y, 1, &e)) fail_msg("%s", e.msg);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], ond, od);
  ot_near(adx_f32(&Y[0]), want, adx_tensor_numel(&Y[0]), 0);
  ot_free(Y, 1);
}

static void test_modes(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->opset = 13;
  ot_in(g, "x", ADX_F32, 2, DIMS(2, 3), 0);
  /* np.pad(a, ((1,0),(2,1)), mode) -> pads [1,2,0,1] */
  ot_const(g, "p", ADX_I64, 1, DIMS(4), IVALS(1, 2, 0, 1));
  adx_tensor X = ot_tensor(ADX_F32, 2, DIMS(2, 3), A23);
  int n = ot_node(g, "Pad", "x,p", "r", 1, ot_attrs(1, ot_str("mode", "reflect")));
  pad_run(g, n, &X, NULL, 2, DIMS(3, 6), FVALS(6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5));
  n = ot_node(g, "Pad", "x,p", "e", 1, ot_attrs(1, ot_str("mode", "edge")));
  pad_run(g, n, &X, NULL, 2, DIMS(3, 6), FVALS(1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6));
  n = ot_node(g, "Pad", "x,p", "c", 0, NULL);
  pad_run(g, n, &X, NULL, 2, DIMS(3, 6), FVALS(0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0));
  /* np.pad(a, ((0,1),(1,0)), constant_values=9), value as a non-constant input */
  ot_const(g, "p2", ADX_I64, 1, DIMS(4), IVALS(0, 1, 1, 0));
  ot_in(g, "v", ADX_F32, 0, NULL, 0);
  adx_tensor V = ot_tensor(ADX_F32, 0, NULL, FVALS(9.f));
  n = ot_node(g, "Pad", "x,p2,v", "c2", 1, ot_attrs(1, ot_str("mode", "constant")));
  pad_run(g, n, &X, &V, 2, DIMS(3, 4), FVALS(9, 1, 2, 3, 9, 4, 5, 6, 9, 9, 9, 9));
  /* Negative pads crop: a[:, 1:] padded right by 1 with 0 -> pads [0,-1,0,1] */
  ot_const(g, "p3", ADX_I64, 1, DIMS(4), IVALS(0, -1, 0, 1));
  n = ot_node(g, "Pad", "x,p3", "c3", 0, NULL);
  pad_run(g, n, &X, NULL, 2, DIMS(2, 3), FVALS(2, 3, 0, 5, 6, 0));
  /* Reflect beyond one period: np.pad([1,2,3], (4,5), 'reflect') */
  ot_in(g, "x1", ADX_F32, 1, DIMS(3), 0);
  ot_const(g, "p4", ADX_I64, 1, DIMS(2), IVALS(4, 5));
  adx_tensor X1 = ot_tensor(ADX_F32, 1, DIMS(3), A23);
  n = ot_node(g, "Pad", "x1,p4", "r4", 1, ot_attrs(1, ot_str("mode", "reflect")));
  pad_run(g, n, &X1, NULL, 1, DIMS(12), FVALS(1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2));
  adx_tensor_free(&X);
  adx_tensor_free(&X1);
  adx_tensor_free(&V);
  adx_graph_free(g);
}

/* Opset 2 form: pads and value as attributes; NCHW spatial padding as exporters emit it. */
static void test_attr_form_nchw(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->opset = 9;
  ot_in(g, "x", ADX_F32, 4, DIMS(2, 1, 2, 2), 1);
  int n = ot_node(g, "Pad", "x", "y", 2,
                  ot_attrs(2, ot_ints("pads", 8, IVALS(0, 0, 1, 0, 0, 0, 0, 1)), ot_float("value", -1.f)));
  adx_tensor X = ot_tensor(ADX_F32, 4, DIMS(2, 1, 2, 2), FVALS(1, 2, 3, 4, 5, 6, 7, 8)), Y[1];
  adx_error e = {0};
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X}, Y, 1, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 4, DIMS(2, 1, 3, 3));
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  ot_near(adx_f32(&Y[0]), FVALS(-1, -1, -1, 1, 2, -1, 3, 4, -1, -1, -1, -1, 5, 6, -1, 7, 8, -1), 18, 0);
  ot_free(Y, 1);
  assert_int_equal(g->nodes[n].op->ad, ADX_AD_PAD);
  adx_tensor_free(&X);
  adx_graph_free(g);
}

static void test_axes_int64_errors(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->opset = 18;
  ot_in(g, "x", ADX_I64, 2, DIMS(2, 3), 1);
  ot_const(g, "p", ADX_I64, 1, DIMS(2), IVALS(1, 2));
  ot_const(g, "ax", ADX_I64, 1, DIMS(1), IVALS(-1));
  ot_const(g, "cv", ADX_I64, 0, NULL, IVALS(-7));
  int n = ot_node(g, "Pad", "x,p,cv,ax", "y", 0, NULL);
  adx_tensor X = ot_tensor(ADX_I64, 2, DIMS(2, 3), IVALS(1, 2, 3, 4, 5, 6)), Y[1];
  adx_error e = {0};
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X, NULL, NULL, NULL}, Y, 1, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 2, DIMS(2, 6));
  ot_ieq(adx_i64(&Y[0]), IVALS(-7, 1, 2, 3, -7, -7, -7, 4, 5, 6, -7, -7), 12);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  ot_free(Y, 1);
  n = ot_node(g, "Pad", "x,p", "y2", 1, ot_attrs(1, ot_str("mode", "wrap")));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "Pad_node");
  n = ot_node(g, "Pad", "x,p", "y3", 0, NULL); /* 2 pads for rank 2 */
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  ot_in(g, "dyn", ADX_I64, 1, DIMS(4), 0);
  n = ot_node(g, "Pad", "x,dyn", "y4", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  /* Padding the batch axis at another batch size is refused. */
  ot_const(g, "pb", ADX_I64, 1, DIMS(4), IVALS(1, 0, 0, 0));
  n = ot_node(g, "Pad", "x,pb", "y5", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 0);
  g->batch = 4;
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "batch dimension");
  adx_tensor_free(&X);
  adx_graph_free(g);
}

/* A large NCHW reflect pad across threads against a direct per-element formula. */
static void test_large_reflect(void **state) {
  (void)state;
  const int64_t N = 2, C = 16, H = 40, W = 50;
  adx_graph *g = adx_graph_new();
  g->opset = 13;
  ot_in(g, "x", ADX_F32, 4, DIMS(N, C, H, W), 1);
  ot_const(g, "p", ADX_I64, 1, DIMS(8), IVALS(0, 0, 3, 2, 0, 0, 1, 4));
  int n = ot_node(g, "Pad", "x,p", "y", 1, ot_attrs(1, ot_str("mode", "reflect")));
  adx_tensor X = ot_tensor(ADX_F32, 4, DIMS(N, C, H, W), NULL), Y[1];
  ot_fill(adx_f32(&X), N * C * H * W, 5);
  adx_error e = {0};
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X, NULL}, Y, 2, &e), ADX_OK);
  const int64_t OH = H + 4, OW = W + 6;
  const float *x = adx_f32(&X), *y = adx_f32(&Y[0]);
  for (int64_t nc = 0; nc < N * C; nc++)
    for (int64_t i = 0; i < OH; i++)
      for (int64_t j = 0; j < OW; j++) {
        int64_t si = i - 3, sj = j - 2;
        si = si < 0 ? -si : si >= H ? 2 * (H - 1) - si : si;
        sj = sj < 0 ? -sj : sj >= W ? 2 * (W - 1) - sj : sj;
        if (y[(nc * OH + i) * OW + j] != x[(nc * H + si) * W + sj])
          fail_msg("(%lld,%lld) wrong", (long long)i, (long long)j);
      }
  ot_free(Y, 1);
  adx_tensor_free(&X);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_modes),
      cmocka_unit_test(test_attr_form_nchw),
      cmocka_unit_test(test_axes_int64_errors),
      cmocka_unit_test(test_large_reflect),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
