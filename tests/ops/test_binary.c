/* Add/Sub/Mul/Div: every broadcast shape class (same, scalar, per-channel, trailing vector, general,
 * operand order swapped) against a naive multi-index reference, int64, errors, batched flags, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/optest.h"

static double apply(char op, double a, double b) {
  switch (op) {
  case '+': return a + b;
  case '-': return a - b;
  case '*': return a * b;
  default: return a / b;
  }
}

/* Naive numpy broadcasting: for each output multi-index, index each operand with its own dims. */
static void naive(char op, const float *a, int na, const int64_t *ad, const float *b, int nb,
                  const int64_t *bd, float *o, int no, const int64_t *od) {
  int64_t total = 1, idx[8] = {0};
  for (int i = 0; i < no; i++) total *= od[i];
  for (int64_t e = 0; e < total; e++) {
    int64_t rem = e;
    for (int i = no - 1; i >= 0; i--) {
      idx[i] = rem % od[i];
      rem /= od[i];
    }
    int64_t ia = 0, ib = 0;
    for (int i = 0; i < na; i++) ia = ia * ad[i] + (ad[i] == 1 ? 0 : idx[no - na + i]);
    for (int i = 0; i < nb; i++) ib = ib * bd[i] + (bd[i] == 1 ? 0 : idx[no - nb + i]);
    o[e] = (float)apply(op, a[ia], b[ib]);
  }
}

static const char *op_name(char op) {
  return op == '+' ? "Add" : op == '-' ? "Sub" : op == '*' ? "Mul" : "Div";
}

static void check_case(char op, int na, const int64_t *ad, int nb, const int64_t *bd, int no,
                       const int64_t *od, int threads) {
  adx_graph *g = adx_graph_new();
  ot_in(g, "a", ADX_F32, na, ad, 0);
  ot_in(g, "b", ADX_F32, nb, bd, 0);
  int ni = ot_node(g, op_name(op), "a,b", "y", 0, NULL);
  adx_tensor A = ot_tensor(ADX_F32, na, ad, NULL), B = ot_tensor(ADX_F32, nb, bd, NULL), Y[1];
  ot_fill(adx_f32(&A), adx_tensor_numel(&A), 1);
  ot_fill(adx_f32(&B), adx_tensor_numel(&B), 2);
  if (op == '/')
    for (int64_t i = 0; i < adx_tensor_numel(&B); i++) adx_f32(&B)[i] += adx_f32(&B)[i] >= 0 ? 0.5f : -0.5f;
  adx_error e = {0};
  assert_int_equal(ot_run(g, ni, (const adx_tensor *[]){&A, &B}, Y, threads, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[ni].out[0]], no, od);
  int64_t total = adx_tensor_numel(&Y[0]);
  float *want = malloc(sizeof(float) * (size_t)(total ? total : 1));
  naive(op, adx_f32(&A), na, ad, adx_f32(&B), nb, bd, want, no, od);
  ot_near(adx_f32(&Y[0]), want, total, 1e-6);
  free(want);
  adx_tensor_free(&A);
  adx_tensor_free(&B);
  ot_free(Y, 1);
  adx_graph_free(g);
}

static void test_broadcast_classes(void **state) {
  (void)state;
  const char ops[] = "+-*/";
  for (int k = 0; k < 4; k++) {
    char op = ops[k];
    check_case(op, 3, DIMS(3, 4, 5), 3, DIMS(3, 4, 5), 3, DIMS(3, 4, 5), 1);          /* same shape */
    check_case(op, 3, DIMS(3, 4, 5), 0, NULL, 3, DIMS(3, 4, 5), 1);                   /* scalar */
    check_case(op, 0, NULL, 3, DIMS(3, 4, 5), 3, DIMS(3, 4, 5), 1);                   /* scalar first */
    check_case(op, 4, DIMS(2, 3, 4, 5), 3, DIMS(3, 1, 1), 4, DIMS(2, 3, 4, 5), 1);    /* per channel */
    check_case(op, 4, DIMS(2, 3, 4, 5), 4, DIMS(1, 3, 1, 1), 4, DIMS(2, 3, 4, 5), 1); /* per channel 4-D */
    check_case(op, 4, DIMS(1, 3, 1, 1), 4, DIMS(2, 3, 4, 5), 4, DIMS(2, 3, 4, 5), 1); /* channel first */
    check_case(op, 3, DIMS(3, 4, 5), 1, DIMS(5), 3, DIMS(3, 4, 5), 1);                /* trailing vector */
    check_case(op, 1, DIMS(5), 3, DIMS(3, 4, 5), 3, DIMS(3, 4, 5), 1);                /* vector first */
    check_case(op, 3, DIMS(2, 1, 3), 3, DIMS(1, 4, 1), 3, DIMS(2, 4, 3), 1);          /* both broadcast */
    check_case(op, 3, DIMS(2, 4, 1), 2, DIMS(1, 3), 3, DIMS(2, 4, 3), 1);             /* general */
    check_case(op, 4, DIMS(2, 1, 4, 5), 4, DIMS(2, 3, 1, 5), 4, DIMS(2, 3, 4, 5), 1); /* general */
    check_case(op, 2, DIMS(4, 1), 2, DIMS(1, 1), 2, DIMS(4, 1), 1);                   /* all ones */
    check_case(op, 2, DIMS(0, 3), 1, DIMS(3), 2, DIMS(0, 3), 1);                      /* empty */
    check_case(op, 4, DIMS(2, 64, 30, 30), 3, DIMS(64, 1, 1), 4, DIMS(2, 64, 30, 30), 2); /* threaded */
    check_case(op, 2, DIMS(50000, 1), 2, DIMS(1, 3), 2, DIMS(50000, 3), 2); /* threaded general */
    check_case(op, 1, DIMS(100000), 1, DIMS(100000), 1, DIMS(100000), 2);   /* threaded chunks */
  }
}

/* Hand-computed values: residual add, per-channel scaling, and int64 shape arithmetic. */
static void test_hand_values(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 4, DIMS(1, 2, 1, 2), 1);
  ot_const(g, "s", ADX_F32, 3, DIMS(2, 1, 1), FVALS(10.f, -1.f));
  int nm = ot_node(g, "Mul", "x,s", "y", 0, NULL);
  int nd = ot_node(g, "Div", "s,x", "q", 0, NULL);
  adx_tensor x = ot_tensor(ADX_F32, 4, DIMS(1, 2, 1, 2), FVALS(1.f, 2.f, 3.f, 4.f)), y[1];
  adx_error e = {0};
  assert_int_equal(ot_run(g, nm, (const adx_tensor *[]){&x, NULL}, y, 1, &e), ADX_OK);
  ot_near(adx_f32(&y[0]), FVALS(10.f, 20.f, -3.f, -4.f), 4, 0);
  assert_int_equal(g->values[g->nodes[nm].out[0]].batched, 1);
  ot_free(y, 1);
  assert_int_equal(ot_run(g, nd, (const adx_tensor *[]){NULL, &x}, y, 1, &e), ADX_OK);
  ot_near(adx_f32(&y[0]), FVALS(10.f, 5.f, -1.f / 3.f, -0.25f), 4, 1e-7);
  assert_int_equal(g->values[g->nodes[nd].out[0]].batched, 1);
  ot_free(y, 1);

  ot_const(g, "i", ADX_I64, 1, DIMS(4), IVALS(7, -7, 100, 3));
  ot_const(g, "j", ADX_I64, 0, NULL, IVALS(2));
  const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "PRelu"};
  const int64_t want[6][4] = {{9, -5, 102, 5}, {5, -9, 98, 1},     {14, -14, 200, 6},
                              {3, -3, 50, 1},  {49, 49, 10000, 9}, {7, -14, 100, 3}};
  for (int k = 0; k < 6; k++) {
    char out[32];
    snprintf(out, sizeof out, "o%d", k);
    int ni = ot_node(g, ops[k], "i,j", out, 0, NULL);
    assert_int_equal(ot_run(g, ni, NULL, y, 1, &e), ADX_OK);
    assert_int_equal(y[0].dtype, ADX_I64);
    ot_ieq(adx_i64(&y[0]), want[k], 4);
    ot_free(y, 1);
  }
  /* integer powers: by squaring, and a negative exponent keeps the integer part of 1 / x^|y| */
  ot_const(g, "pb", ADX_I64, 1, DIMS(5), IVALS(2, -1, -1, 5, 3));
  ot_const(g, "pe", ADX_I64, 1, DIMS(5), IVALS(10, 3, -3, -1, 0));
  int np = ot_node(g, "Pow", "pb,pe", "pw", 0, NULL);
  assert_int_equal(ot_run(g, np, NULL, y, 1, &e), ADX_OK);
  ot_ieq(adx_i64(&y[0]), (const int64_t[]){1024, -1, -1, 0, 1}, 5);
  ot_free(y, 1);
  /* float: x^2 and 4^(-1/2) */
  ot_const(g, "fb", ADX_F32, 1, DIMS(3), FVALS(-3.f, 0.5f, 4.f));
  ot_const(g, "fe", ADX_F32, 1, DIMS(3), FVALS(2.f, 2.f, -0.5f));
  int nf = ot_node(g, "Pow", "fb,fe", "fw", 0, NULL);
  assert_int_equal(ot_run(g, nf, NULL, y, 1, &e), ADX_OK);
  ot_near(adx_f32(&y[0]), FVALS(9.f, 0.25f, 0.5f), 3, 0);
  ot_free(y, 1);
  ot_const(g, "zero", ADX_I64, 0, NULL, IVALS(0));
  int nz = ot_node(g, "Div", "i,zero", "dz", 0, NULL);
  assert_int_equal(ot_run(g, nz, NULL, y, 1, &e), ADX_ERR_RUNTIME);
  ot_msg_has(&e, "division by zero");
  ot_free(y, 1);
  adx_tensor_free(&x);
  adx_graph_free(g);
}

static void test_infer_rules(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 4, DIMS(2, 3, 4, 5), 1);
  ot_in(g, "bad", ADX_F32, 1, DIMS(4), 0);
  ot_in(g, "i", ADX_I64, 1, DIMS(5), 0);
  ot_in(g, "v", ADX_F32, 1, DIMS(5), 1); /* a batched lower-rank operand does not carry the batch */
  ot_in(g, "c", ADX_F32, 4, DIMS(1, 3, 1, 1), 0);
  adx_error e = {0};
  int n = ot_node(g, "Add", "x,bad", "y1", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  ot_msg_has(&e, "Add_node");
  ot_msg_has(&e, "[2,3,4,5]");
  n = ot_node(g, "Mul", "x,i", "y2", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  n = ot_node(g, "Sub", "c,v", "y3", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 0);
  n = ot_node(g, "Sub", "c,x", "y4", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  assert_int_equal(g->nodes[n].op->ad, ADX_AD_COMBINE);
  assert_true(g->nodes[n].op->flops(g, &g->nodes[n]) == 120.0);
  /* A batched operand broadcast along dim 0 does not make the output batched. */
  ot_in(g, "one", ADX_F32, 2, DIMS(1, 5), 1);
  ot_in(g, "five", ADX_F32, 2, DIMS(5, 5), 0);
  n = ot_node(g, "Add", "one,five", "y5", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 0);
  adx_graph_free(g);
}

/* Add absorbs a Relu reading it (the fusion pass's hook): hand values through every broadcast class the
 * kernels have (same shape, per-channel, scalar, operand order swapped, general broadcast), 1 and 2
 * threads, and what the hook refuses. */
static void test_add_relu_fusion(void **state) {
  (void)state;
  struct {
    int na, nb;
    int64_t ad[4], bd[4];
  } cases[] = {
      {4, 4, {2, 3, 4, 5}, {2, 3, 4, 5}}, {4, 4, {2, 3, 4, 5}, {1, 3, 1, 1}}, {4, 0, {2, 3, 4, 5}, {0}},
      {4, 4, {1, 3, 1, 1}, {2, 3, 4, 5}}, {3, 2, {3, 1, 5}, {4, 1}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
    for (int threads = 1; threads <= 2; threads++) {
      adx_graph *g = adx_graph_new();
      ot_in(g, "a", ADX_F32, cases[c].na, cases[c].ad, 0);
      ot_in(g, "b", ADX_F32, cases[c].nb, cases[c].bd, 0);
      int na = ot_node(g, "Add", "a,b", "s", 0, NULL), nr = ot_node(g, "Relu", "s", "r", 0, NULL);
      adx_error e = {0};
      assert_int_equal(ot_infer(g, na, &e), ADX_OK);
      assert_non_null(g->nodes[na].op->fuse);
      assert_int_equal(g->nodes[na].op->fuse(g, &g->nodes[na], &g->nodes[nr], &e), ADX_OK);
      /* a second Relu is not absorbed again */
      assert_int_equal(g->nodes[na].op->fuse(g, &g->nodes[na], &g->nodes[nr], &e), ADX_ERR_UNSUPPORTED);
      adx_tensor A = ot_tensor(ADX_F32, cases[c].na, cases[c].ad, NULL);
      adx_tensor B = ot_tensor(ADX_F32, cases[c].nb, cases[c].bd, NULL), Y[1];
      ot_fill(adx_f32(&A), adx_tensor_numel(&A), 3);
      ot_fill(adx_f32(&B), adx_tensor_numel(&B), 4);
      assert_int_equal(ot_run(g, na, (const adx_tensor *[]){&A, &B}, Y, threads, &e), ADX_OK);
      const adx_value *o = &g->values[g->nodes[na].out[0]];
      int64_t total = adx_tensor_numel(&Y[0]);
      float *want = malloc(sizeof(float) * (size_t)total);
      naive('+', adx_f32(&A), cases[c].na, cases[c].ad, adx_f32(&B), cases[c].nb, cases[c].bd, want, o->ndim,
            o->dims);
      int64_t neg = 0;
      for (int64_t i = 0; i < total; i++) {
        neg += want[i] < 0;
        want[i] = want[i] < 0 ? 0.f : want[i];
      }
      assert_true(neg > 0 && neg < total); /* the inputs exercise both sides of the Relu */
      ot_near(adx_f32(&Y[0]), want, total, 0);
      free(want);
      adx_tensor_free(&A);
      adx_tensor_free(&B);
      ot_free(Y, 1);
      adx_graph_free(g);
    }
  /* hand values, including a sum of exactly 0 and a negative zero */
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 1, DIMS(5), 0);
  ot_in(g, "y", ADX_F32, 1, DIMS(5), 0);
  ot_in(g, "i", ADX_I64, 1, DIMS(5), 0);
  int na = ot_node(g, "Add", "x,y", "s", 0, NULL), nr = ot_node(g, "Relu", "s", "r", 0, NULL);
  int ns = ot_node(g, "Sigmoid", "s", "q", 0, NULL), ni = ot_node(g, "Add", "i,i", "ii", 0, NULL);
  int nir = ot_node(g, "Relu", "ii", "iir", 0, NULL), nsub = ot_node(g, "Sub", "x,y", "d", 0, NULL);
  adx_error e = {0};
  assert_int_equal(ot_infer(g, na, &e), ADX_OK);
  assert_int_equal(ot_infer(g, ni, &e), ADX_OK);
  /* refused: a Sigmoid, an int64 Add; Sub has no hook */
  assert_int_equal(g->nodes[na].op->fuse(g, &g->nodes[na], &g->nodes[ns], &e), ADX_ERR_UNSUPPORTED);
  assert_int_equal(g->nodes[ni].op->fuse(g, &g->nodes[ni], &g->nodes[nir], &e), ADX_ERR_UNSUPPORTED);
  assert_null(g->nodes[nsub].op->fuse);
  adx_tensor X = ot_tensor(ADX_F32, 1, DIMS(5), FVALS(1.f, -2.f, 3.f, -0.f, 0.5f));
  adx_tensor Yt = ot_tensor(ADX_F32, 1, DIMS(5), FVALS(-3.f, 1.f, -3.f, -0.f, 0.25f)), out[1];
  assert_int_equal(ot_run(g, na, (const adx_tensor *[]){&X, &Yt}, out, 1, &e), ADX_OK); /* not fused yet */
  ot_near(adx_f32(&out[0]), FVALS(-2.f, -1.f, 0.f, -0.f, 0.75f), 5, 0);
  ot_free(out, 1);
  assert_int_equal(g->nodes[na].op->fuse(g, &g->nodes[na], &g->nodes[nr], &e), ADX_OK);
  assert_int_equal(ot_run(g, na, (const adx_tensor *[]){&X, &Yt}, out, 1, &e), ADX_OK);
  const float *r = adx_f32(&out[0]);
  ot_near(r, FVALS(0.f, 0.f, 0.f, 0.f, 0.75f), 5, 0);
  assert_false(signbit(r[3])); /* Relu(-0) is +0, as the Relu operator gives */
  ot_free(out, 1);
  adx_tensor_free(&X);
  adx_tensor_free(&Yt);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_broadcast_classes),
      cmocka_unit_test(test_hand_values),
      cmocka_unit_test(test_infer_rules),
      cmocka_unit_test(test_add_relu_fusion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
