/* Gemm and MatMul against naive triple loops: transposes, alpha/beta, every C broadcast, 1-D operands,
 * batched and broadcast N-D products, thread splits (rows, columns, batches), errors and FLOPs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adx/core.h"
#include "ops/optest.h"

/* ---------------- Gemm ---------------- */

static void gemm_case(int64_t M, int64_t N, int64_t K, int ta, int tb, float alpha, float beta, int cnd,
                      const int64_t *cd, int threads) {
  adx_graph *g = adx_graph_new();
  const int64_t *adims = ta ? DIMS(K, M) : DIMS(M, K), *bdims = tb ? DIMS(N, K) : DIMS(K, N);
  ot_in(g, "a", ADX_F32, 2, adims, 1);
  ot_in(g, "b", ADX_F32, 2, bdims, 0);
  if (cnd >= 0) ot_in(g, "c", ADX_F32, cnd, cd, 0);
  int ni = ot_node(g, "Gemm", cnd >= 0 ? "a,b,c" : "a,b", "y", 4,
                   ot_attrs(4, ot_int("transA", ta), ot_int("transB", tb), ot_float("alpha", alpha),
                            ot_float("beta", beta)));
  adx_tensor A = ot_tensor(ADX_F32, 2, adims, NULL), B = ot_tensor(ADX_F32, 2, bdims, NULL), C = {0}, Y[1];
  ot_fill(adx_f32(&A), M * K, 3);
  ot_fill(adx_f32(&B), K * N, 4);
  int64_t cm = 1, cn = 1;
  if (cnd >= 0) {
    C = ot_tensor(ADX_F32, cnd, cd, NULL);
    ot_fill(adx_f32(&C), adx_tensor_numel(&C), 5);
    if (cnd == 2) cm = cd[0];
    if (cnd >= 1) cn = cd[cnd - 1];
  }
  adx_error e = {0};
  assert_int_equal(ot_run(g, ni, (const adx_tensor *[]){&A, &B, cnd >= 0 ? &C : NULL}, Y, threads, &e),
                   ADX_OK);
  ot_dims_eq(&g->values[g->nodes[ni].out[0]], 2, DIMS(M, N));
  assert_int_equal(g->values[g->nodes[ni].out[0]].batched, !ta);
  float *want = malloc(sizeof(float) * (size_t)(M * N + 1));
  const float *a = adx_f32(&A), *b = adx_f32(&B);
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double s = 0;
      for (int64_t k = 0; k < K; k++)
        s += (double)(ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
      double c = cnd >= 0 ? adx_f32(&C)[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)] : 0;
      want[i * N + j] = (float)(alpha * s + beta * c);
    }
  ot_near(adx_f32(&Y[0]), want, M * N, 1e-5 + 1e-6 * (double)K); /* float32 sums of K terms */
  assert_true(g->nodes[ni].op->flops(g, &g->nodes[ni]) == 2.0 * (double)(M * N * K));
  free(want);
  adx_tensor_free(&A);
  adx_tensor_free(&B);
  adx_tensor_free(&C);
  ot_free(Y, 1);
  adx_graph_free(g);
}

static void test_gemm(void **state) {
  (void)state;
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      gemm_case(3, 4, 5, ta, tb, 1.f, 1.f, -1, NULL, 1);
      gemm_case(3, 4, 5, ta, tb, 0.25f, 0.35f, 2, DIMS(1, 4), 1);
      gemm_case(3, 4, 5, ta, tb, 0.5f, 1.f, 2, DIMS(3, 4), 1);
      gemm_case(3, 4, 5, ta, tb, 1.f, 0.5f, 2, DIMS(3, 1), 1);
      gemm_case(3, 4, 5, ta, tb, 1.f, 2.f, 1, DIMS(4), 1);
      gemm_case(3, 4, 5, ta, tb, 1.f, 2.f, 1, DIMS(1), 1);
      gemm_case(3, 4, 5, ta, tb, 1.f, 2.f, 0, NULL, 1);
      gemm_case(3, 4, 5, ta, tb, 1.f, 0.f, 2, DIMS(3, 4), 1);
      gemm_case(96, 70, 400, ta, tb, 1.f, 1.f, 1, DIMS(70), 2);  /* split by rows */
      gemm_case(2, 300, 500, ta, tb, 1.f, 1.f, 1, DIMS(300), 2); /* split by columns */
    }
}

static void test_gemm_errors(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "a", ADX_F32, 2, DIMS(3, 5), 1);
  ot_in(g, "b", ADX_F32, 2, DIMS(4, 4), 0);
  ot_in(g, "b3", ADX_F32, 3, DIMS(1, 5, 4), 0);
  ot_in(g, "b2", ADX_F32, 2, DIMS(5, 4), 0);
  ot_in(g, "c", ADX_F32, 2, DIMS(2, 4), 0);
  adx_error e = {0};
  int n = ot_node(g, "Gemm", "a,b", "y1", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  ot_msg_has(&e, "Gemm_node");
  n = ot_node(g, "Gemm", "a,b3", "y2", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  n = ot_node(g, "Gemm", "a,b2,c", "y3", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  ot_msg_has(&e, "'c'");
  /* transA reads the batch as the inner dimension: refused at another batch size. */
  ot_in(g, "b4", ADX_F32, 2, DIMS(3, 4), 0);
  n = ot_node(g, "Gemm", "a,b4", "y4", 1, ot_attrs(1, ot_int("transA", 1)));
  g->batch = 5;
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "batch");
  adx_graph_free(g);
}

/* ---------------- MatMul ---------------- */

static void matmul_case(int na, const int64_t *ad, int nb, const int64_t *bd, int no, const int64_t *od,
                        int threads) {
  adx_graph *g = adx_graph_new();
  ot_in(g, "a", ADX_F32, na, ad, 0);
  ot_in(g, "b", ADX_F32, nb, bd, 0);
  int ni = ot_node(g, "MatMul", "a,b", "y", 0, NULL);
  adx_tensor A = ot_tensor(ADX_F32, na, ad, NULL), B = ot_tensor(ADX_F32, nb, bd, NULL), Y[1];
  ot_fill(adx_f32(&A), adx_tensor_numel(&A), 8);
  ot_fill(adx_f32(&B), adx_tensor_numel(&B), 9);
  adx_error e = {0};
  assert_int_equal(ot_run(g, ni, (const adx_tensor *[]){&A, &B}, Y, threads, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[ni].out[0]], no, od);
  /* Reference: numpy semantics spelled out. Promote, broadcast batch dims, multiply. */
  int64_t pa[8], pb[8];
  int ra = na == 1 ? 2 : na, rb = nb == 1 ? 2 : nb;
  if (na == 1)
    pa[0] = 1, pa[1] = ad[0];
  else
    memcpy(pa, ad, sizeof(int64_t) * (size_t)na);
  if (nb == 1)
    pb[0] = bd[0], pb[1] = 1;
  else
    memcpy(pb, bd, sizeof(int64_t) * (size_t)nb);
  int64_t M = pa[ra - 2], K = pa[ra - 1], N = pb[rb - 1];
  int nbat = (ra > rb ? ra : rb) - 2;
  int64_t bat[8], nbt = 1;
  for (int i = 0; i < nbat; i++) {
    int ia = i - (nbat - (ra - 2)), ib = i - (nbat - (rb - 2));
    int64_t u = ia >= 0 ? pa[ia] : 1, v = ib >= 0 ? pb[ib] : 1;
    bat[i] = u > v ? u : v;
    nbt *= bat[i];
  }
  float *want = malloc(sizeof(float) * (size_t)(nbt * M * N + 1));
  for (int64_t t = 0; t < nbt; t++) {
    int64_t idx[8], rem = t, oa = 0, ob = 0;
    for (int i = nbat - 1; i >= 0; i--) {
      idx[i] = rem % bat[i];
      rem /= bat[i];
    }
    for (int i = 0; i < ra - 2; i++) oa = oa * pa[i] + (pa[i] == 1 ? 0 : idx[i + nbat - (ra - 2)]);
    for (int i = 0; i < rb - 2; i++) ob = ob * pb[i] + (pb[i] == 1 ? 0 : idx[i + nbat - (rb - 2)]);
    const float *a = adx_f32(&A) + oa * M * K, *b = adx_f32(&B) + ob * K * N;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double s = 0;
        for (int64_t k = 0; k < K; k++) s += (double)a[i * K + k] * b[k * N + j];
        want[(t * M + i) * N + j] = (float)s;
      }
  }
  ot_near(adx_f32(&Y[0]), want, nbt * M * N, 1e-5 + 1e-6 * (double)K);
  assert_true(g->nodes[ni].op->flops(g, &g->nodes[ni]) == 2.0 * (double)(nbt * M * N * K));
  free(want);
  adx_tensor_free(&A);
  adx_tensor_free(&B);
  ot_free(Y, 1);
  adx_graph_free(g);
}

static void test_matmul(void **state) {
  (void)state;
  matmul_case(2, DIMS(3, 4), 2, DIMS(4, 3), 2, DIMS(3, 3), 1);
  matmul_case(3, DIMS(2, 3, 4), 3, DIMS(2, 4, 3), 3, DIMS(2, 3, 3), 1);
  matmul_case(4, DIMS(1, 2, 3, 4), 4, DIMS(1, 2, 4, 3), 4, DIMS(1, 2, 3, 3), 1);
  matmul_case(1, DIMS(4), 2, DIMS(4, 3), 1, DIMS(3), 1);
  matmul_case(2, DIMS(3, 4), 1, DIMS(4), 1, DIMS(3), 1);
  matmul_case(1, DIMS(4), 1, DIMS(4), 0, NULL, 1);
  matmul_case(3, DIMS(2, 3, 4), 2, DIMS(4, 5), 3, DIMS(2, 3, 5), 1);          /* collapsed into one product */
  matmul_case(2, DIMS(3, 4), 3, DIMS(2, 4, 5), 3, DIMS(2, 3, 5), 1);          /* a broadcast over b's batch */
  matmul_case(4, DIMS(2, 1, 3, 4), 3, DIMS(5, 4, 2), 4, DIMS(2, 5, 3, 2), 1); /* both broadcast */
  matmul_case(3, DIMS(1, 3, 4), 3, DIMS(6, 4, 2), 3, DIMS(6, 3, 2), 2);       /* batches across threads */
  matmul_case(3, DIMS(1, 200, 300), 3, DIMS(1, 300, 100), 3, DIMS(1, 200, 100), 2); /* one split product */
  matmul_case(2, DIMS(3, 0), 2, DIMS(0, 2), 2, DIMS(3, 2), 1);                      /* K = 0: zeros */
}

static void test_matmul_rules(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 3, DIMS(4, 3, 5), 1);
  ot_in(g, "w", ADX_F32, 2, DIMS(5, 2), 0);
  ot_in(g, "v", ADX_F32, 2, DIMS(6, 2), 0);
  ot_in(g, "f", ADX_F32, 2, DIMS(4, 5), 1);
  adx_error e = {0};
  int n = ot_node(g, "MatMul", "x,w", "y", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  assert_int_equal(g->nodes[n].op->ad, ADX_AD_PLAIN);
  n = ot_node(g, "MatMul", "x,v", "y2", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  ot_msg_has(&e, "MatMul_node");
  /* A batched matrix as the right operand contracts over the batch. */
  g->declared_batch = 4;
  g->batch = 8;
  n = ot_node(g, "MatMul", "w,f", "y3", 0, NULL);
  g->values[adx_graph_find_value(g, "w")].dims[0] = 2;
  g->values[adx_graph_find_value(g, "w")].dims[1] = 4;
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "batch");
  adx_graph_free(g);
}

int main(void) {
  adx_threads_set(2);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm),
      cmocka_unit_test(test_gemm_errors),
      cmocka_unit_test(test_matmul),
      cmocka_unit_test(test_matmul_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
