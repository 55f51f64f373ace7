/* Softmax: opset < 13 flattening vs opset 13 single-axis semantics, numpy values computed by hand,
 * strided axes against a naive reference, and the batch rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/optest.h"

/* ---------------- Softmax ---------------- */

static void softmax_run(int64_t opset, int nd, const int64_t *dims, const float *x, int nattrs,
                        adx_attr *attrs, const float *want, int threads) {
  adx_graph *g = adx_graph_new();
  g->opset = opset;
  ot_in(g, "x", ADX_F32, nd, dims, 1);
  int ni = ot_node(g, "Softmax", "x", "y", nattrs, attrs);
  adx_tensor X = ot_tensor(ADX_F32, nd, dims, x), Y[1];
  adx_error e = {0};
  assert_int_equal(ot_run(g, ni, (const adx_tensor *[]){&X}, Y, threads, &e), ADX_OK);
  ot_near(adx_f32(&Y[0]), want, adx_tensor_numel(&X), 1e-6);
  adx_tensor_free(&X);
  ot_free(Y, 1);
  adx_graph_free(g);
}

static void test_softmax_values(void **state) {
  (void)state;
  const float x[6] = {1, 2, 3, 4, 5, 6};
  const float rows[6] = {0.09003057f, 0.24472847f, 0.66524096f, 0.09003057f, 0.24472847f, 0.66524096f};
  softmax_run(13, 2, DIMS(2, 3), x, 0, NULL, rows, 1); /* default axis -1 */
  softmax_run(11, 2, DIMS(2, 3), x, 0, NULL, rows, 1); /* default axis 1 */
  const float y[8] = {0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f};
  const float flat[8] = {0.10153632f, 0.1674051f, 0.27600434f, 0.45505423f,
                         0.10153632f, 0.1674051f, 0.27600434f, 0.45505423f};
  const float ax1[8] = {0.26894142f, 0.26894142f, 0.73105858f, 0.73105858f,
                        0.26894142f, 0.26894142f, 0.73105858f, 0.73105858f};
  softmax_run(11, 3, DIMS(2, 2, 2), y, 1, ot_attrs(1, ot_int("axis", 1)), flat, 1); /* flattened at 1 */
  softmax_run(13, 3, DIMS(2, 2, 2), y, 1, ot_attrs(1, ot_int("axis", 1)), ax1, 1);  /* along axis 1 */
  softmax_run(13, 3, DIMS(2, 2, 2), y, 1, ot_attrs(1, ot_int("axis", -2)), ax1, 1);
  /* Large logits do not overflow. */
  softmax_run(13, 1, DIMS(3), FVALS(1000.f, 1001.f, 1002.f), 0, NULL,
              FVALS(0.09003057f, 0.24472847f, 0.66524096f), 1);
}

/* Along a middle axis with a wide inner extent (several 256-blocks) and threads: naive reference. */
static void test_softmax_strided(void **state) {
  (void)state;
  const int64_t A = 3, C = 7, I = 700;
  float *x = malloc(sizeof(float) * A * C * I), *want = malloc(sizeof(float) * A * C * I);
  ot_fill(x, A * C * I, 11);
  for (int64_t a = 0; a < A; a++)
    for (int64_t i = 0; i < I; i++) {
      double mx = -1e30, s = 0;
      for (int64_t c = 0; c < C; c++) mx = fmax(mx, x[(a * C + c) * I + i]);
      for (int64_t c = 0; c < C; c++) s += exp(x[(a * C + c) * I + i] - mx);
      for (int64_t c = 0; c < C; c++)
        want[(a * C + c) * I + i] = (float)(exp(x[(a * C + c) * I + i] - mx) / s);
    }
  softmax_run(13, 3, DIMS(A, C, I), x, 1, ot_attrs(1, ot_int("axis", 1)), want, 2);
  softmax_run(13, 3, DIMS(A, C, I), x, 1, ot_attrs(1, ot_int("axis", 1)), want, 1);
  free(x);
  free(want);
}

static void test_softmax_errors(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->opset = 13;
  ot_in(g, "x", ADX_F32, 2, DIMS(4, 10), 1);
  adx_error e = {0};
  int n = ot_node(g, "Softmax", "x", "y", 1, ot_attrs(1, ot_int("axis", 2)));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_ARG);
  ot_msg_has(&e, "Softmax_node");
  n = ot_node(g, "Softmax", "x", "y2", 1, ot_attrs(1, ot_int("axis", 0)));
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  g->batch = 4;
  g->declared_batch = 1;
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "batch");
  n = ot_node(g, "Softmax", "x", "y3", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_softmax_values),
      cmocka_unit_test(test_softmax_strided),
      cmocka_unit_test(test_softmax_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
