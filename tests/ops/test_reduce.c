/* ReduceMean: attribute and input axes, keepdims, negative and non-adjacent axes against a naive
 * reference, noop_with_empty_axes, and the batch rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/optest.h"

/* ---------------- ReduceMean ---------------- */

/* Naive mean over the axes flagged in red[], keepdims layout irrelevant (same element order). */
static void naive_mean(const float *x, int nd, const int64_t *dims, const int *red, float *y, int64_t nout) {
  double *acc = calloc((size_t)nout, sizeof *acc);
  int64_t total = 1, cnt = 1, idx[8];
  for (int i = 0; i < nd; i++) {
    total *= dims[i];
    if (red[i]) cnt *= dims[i];
  }
  for (int64_t e = 0; e < total; e++) {
    int64_t rem = e, o = 0;
    for (int i = nd - 1; i >= 0; i--) {
      idx[i] = rem % dims[i];
      rem /= dims[i];
    }
    for (int i = 0; i < nd; i++)
      if (!red[i]) o = o * dims[i] + idx[i];
    acc[o] += x[e];
  }
  for (int64_t i = 0; i < nout; i++) y[i] = (float)(acc[i] / (double)cnt);
  free(acc);
}

static void reduce_case(int nd, const int64_t *dims, int na, const int64_t *axes, int keep, int via_input,
                        int threads) {
  adx_graph *g = adx_graph_new();
  g->opset = via_input ? 18 : 13;
  ot_in(g, "x", ADX_F32, nd, dims, 1);
  int ni;
  if (via_input) {
    ot_const(g, "axes", ADX_I64, 1, DIMS(na), axes);
    ni = ot_node(g, "ReduceMean", "x,axes", "y", 1, ot_attrs(1, ot_int("keepdims", keep)));
  } else if (na > 0) {
    ni = ot_node(g, "ReduceMean", "x", "y", 2,
                 ot_attrs(2, ot_ints("axes", na, axes), ot_int("keepdims", keep)));
  } else {
    ni = ot_node(g, "ReduceMean", "x", "y", 1, ot_attrs(1, ot_int("keepdims", keep)));
  }
  adx_tensor X = ot_tensor(ADX_F32, nd, dims, NULL), Y[1];
  ot_fill(adx_f32(&X), adx_tensor_numel(&X), 21);
  adx_error e = {0};
  assert_int_equal(ot_run(g, ni, (const adx_tensor *[]){&X, NULL}, Y, threads, &e), ADX_OK);
  int red[8] = {0};
  for (int k = 0; k < na; k++) red[axes[k] < 0 ? axes[k] + nd : axes[k]] = 1;
  if (na == 0)
    for (int i = 0; i < nd; i++) red[i] = 1;
  int64_t od[8];
  int on = 0;
  for (int i = 0; i < nd; i++)
    if (!red[i])
      od[on++] = dims[i];
    else if (keep)
      od[on++] = 1;
  ot_dims_eq(&g->values[g->nodes[ni].out[0]], on, od);
  assert_int_equal(g->values[g->nodes[ni].out[0]].batched, !red[0]);
  int64_t nout = adx_tensor_numel(&Y[0]);
  float *want = malloc(sizeof(float) * (size_t)nout);
  naive_mean(adx_f32(&X), nd, dims, red, want, nout);
  ot_near(adx_f32(&Y[0]), want, nout, 1e-5);
  free(want);
  adx_tensor_free(&X);
  ot_free(Y, 1);
  adx_graph_free(g);
}

static void test_reducemean(void **state) {
  (void)state;
  reduce_case(4, DIMS(2, 3, 4, 5), 2, IVALS(2, 3), 1, 0, 1);   /* global average pool */
  reduce_case(4, DIMS(2, 3, 4, 5), 2, IVALS(-1, -2), 0, 0, 1); /* negative axes */
  reduce_case(3, DIMS(3, 2, 2), 1, IVALS(1), 0, 0, 1);
  reduce_case(3, DIMS(3, 2, 2), 1, IVALS(1), 1, 1, 1);          /* axes input (opset 18) */
  reduce_case(3, DIMS(3, 2, 2), 0, NULL, 1, 0, 1);              /* all axes */
  reduce_case(3, DIMS(3, 4, 5), 2, IVALS(0, 2), 1, 0, 1);       /* general walk */
  reduce_case(5, DIMS(2, 3, 1, 4, 5), 2, IVALS(1, 4), 0, 0, 1); /* general walk */
  reduce_case(4, DIMS(2, 3, 1, 5), 1, IVALS(2), 1, 0, 1);       /* only a size-1 axis */
  reduce_case(4, DIMS(4, 64, 32, 32), 2, IVALS(2, 3), 1, 0, 2); /* threaded */
  reduce_case(3, DIMS(8, 300, 50), 1, IVALS(1), 1, 0, 2);       /* threaded, inner > 1 */
}

static void test_reducemean_rules(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->opset = 18;
  ot_in(g, "x", ADX_F32, 2, DIMS(2, 3), 1);
  ot_in(g, "ax", ADX_I64, 1, DIMS(1), 0);
  adx_error e = {0};
  int n = ot_node(g, "ReduceMean", "x,ax", "y", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "ReduceMean_node");
  n = ot_node(g, "ReduceMean", "x", "y2", 1, ot_attrs(1, ot_int("noop_with_empty_axes", 1)));
  adx_tensor X = ot_tensor(ADX_F32, 2, DIMS(2, 3), FVALS(1, 2, 3, 4, 5, 6)), Y[1];
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X}, Y, 1, &e), ADX_OK);
  ot_near(adx_f32(&Y[0]), FVALS(1, 2, 3, 4, 5, 6), 6, 0);
  ot_free(Y, 1);
  n = ot_node(g, "ReduceMean", "x", "y3", 1, ot_attrs(1, ot_ints("axes", 1, IVALS(2))));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_ARG);
  n = ot_node(g, "ReduceMean", "x", "y4", 1, ot_attrs(1, ot_ints("axes", 1, IVALS(0))));
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X}, Y, 1, &e), ADX_OK);
  ot_near(adx_f32(&Y[0]), FVALS(2.5f, 3.5f, 4.5f), 3, 0);
  ot_free(Y, 1);
  g->batch = 3;
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "batch");
  assert_int_equal(g->nodes[n].op->ad, ADX_AD_GLOBALPOOL);
  adx_tensor_free(&X);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reducemean),
      cmocka_unit_test(test_reducemean_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
