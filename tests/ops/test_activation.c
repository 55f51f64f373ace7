/* Activations, Dropout, Identity: values against the ONNX formulas evaluated in double here,
 * opset-dependent Clip bounds, error cases, threaded runs on large tensors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/optest.h"

static const float XS[] = {-3.5f, -1.f, -0.25f, 0.f, 0.25f, 1.f, 2.5f, 7.f};
#define NX 8

static double ref(const char *op, double x, double a, double b) {
  if (!strcmp(op, "Relu")) return x > 0 ? x : 0;
  if (!strcmp(op, "LeakyRelu")) return x >= 0 ? x : a * x;
  if (!strcmp(op, "Sigmoid")) return 1.0 / (1.0 + exp(-x));
  if (!strcmp(op, "HardSigmoid")) return fmax(0, fmin(1, a * x + b));
  if (!strcmp(op, "HardSwish")) return x * fmax(0, fmin(1, x / 6.0 + 0.5));
  if (!strcmp(op, "Tanh")) return tanh(x);
  if (!strcmp(op, "Clip")) return fmin(fmax(x, a), b);
  return x; /* Identity, Dropout */
}

/* Run op on XS (shape [2,4], batched) and compare with ref(). */
static void check_op(const char *op, int nattrs, adx_attr *attrs, double a, double b, int64_t opset) {
  adx_graph *g = adx_graph_new();
  g->opset = opset;
  ot_in(g, "x", ADX_F32, 2, DIMS(2, 4), 1);
  int ni = ot_node(g, op, "x", "y", nattrs, attrs);
  adx_tensor x = ot_tensor(ADX_F32, 2, DIMS(2, 4), XS), y[1];
  adx_error e = {0};
  assert_int_equal(ot_run(g, ni, (const adx_tensor *[]){&x}, y, 1, &e), ADX_OK);
  const adx_value *yv = &g->values[g->nodes[ni].out[0]];
  ot_dims_eq(yv, 2, DIMS(2, 4));
  assert_int_equal(yv->batched, 1);
  assert_int_equal(yv->dtype, ADX_F32);
  float want[NX];
  for (int i = 0; i < NX; i++) want[i] = (float)ref(op, XS[i], a, b);
  ot_near(adx_f32(&y[0]), want, NX, 1e-6);
  assert_int_equal(g->nodes[ni].op->ad, ADX_AD_POINTWISE);
  assert_true(g->nodes[ni].op->flops(g, &g->nodes[ni]) == 8.0);
  adx_tensor_free(&x);
  ot_free(y, 1);
  adx_graph_free(g);
}

static void test_pointwise_values(void **state) {
  (void)state;
  check_op("Relu", 0, NULL, 0, 0, 14);
  check_op("LeakyRelu", 0, NULL, 0.01, 0, 16);
  check_op("LeakyRelu", 1, ot_attrs(1, ot_float("alpha", 0.1f)), (double)0.1f, 0, 16);
  check_op("Sigmoid", 0, NULL, 0, 0, 13);
  check_op("HardSigmoid", 0, NULL, (double)0.2f, 0.5, 6);
  check_op("HardSigmoid", 2, ot_attrs(2, ot_float("alpha", 0.5f), ot_float("beta", 0.6f)), 0.5, (double)0.6f,
           6);
  check_op("HardSwish", 0, NULL, 0, 0, 14);
  check_op("Tanh", 0, NULL, 0, 0, 13);
  check_op("Identity", 0, NULL, 0, 0, 16);
  check_op("Dropout", 1, ot_attrs(1, ot_float("ratio", 0.5f)), 0, 0, 12);
  /* Clip before opset 11: bounds are attributes; defaults are unbounded. */
  check_op("Clip", 2, ot_attrs(2, ot_float("min", -1.f), ot_float("max", 2.f)), -1, 2, 6);
  check_op("Clip", 1, ot_attrs(1, ot_float("min", 0.f)), 0, INFINITY, 6);
  check_op("Clip", 0, NULL, -INFINITY, INFINITY, 6);
}

/* Clip from opset 11: bounds are optional scalar inputs, constant or not. */
static void test_clip_inputs(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->opset = 13;
  ot_in(g, "x", ADX_F32, 1, DIMS(8), 0);
  ot_const(g, "lo", ADX_F32, 0, NULL, FVALS(-0.5f));
  ot_in(g, "hi", ADX_F32, 0, NULL, 0);
  int n1 = ot_node(g, "Clip", "x,lo,hi", "y", 0, NULL);
  int n2 = ot_node(g, "Clip", "x,,hi", "z", 0, NULL);
  int n3 = ot_node(g, "Clip", "x,lo", "w", 0, NULL);
  adx_tensor x = ot_tensor(ADX_F32, 1, DIMS(8), XS), hi = ot_tensor(ADX_F32, 0, NULL, FVALS(1.5f)), y[1];
  adx_error e = {0};
  assert_int_equal(ot_run(g, n1, (const adx_tensor *[]){&x, NULL, &hi}, y, 1, &e), ADX_OK);
  ot_near(adx_f32(&y[0]), FVALS(-0.5f, -0.5f, -0.25f, 0.f, 0.25f, 1.f, 1.5f, 1.5f), 8, 0);
  ot_free(y, 1);
  assert_int_equal(ot_run(g, n2, (const adx_tensor *[]){&x, NULL, &hi}, y, 1, &e), ADX_OK);
  ot_near(adx_f32(&y[0]), FVALS(-3.5f, -1.f, -0.25f, 0.f, 0.25f, 1.f, 1.5f, 1.5f), 8, 0);
  ot_free(y, 1);
  assert_int_equal(ot_run(g, n3, (const adx_tensor *[]){&x, NULL}, y, 1, &e), ADX_OK);
  ot_near(adx_f32(&y[0]), FVALS(-0.5f, -0.5f, -0.25f, 0.f, 0.25f, 1.f, 2.5f, 7.f), 8, 0);
  ot_free(y, 1);
  /* A bound that is not a scalar is refused, naming the node. */
  ot_in(g, "vec", ADX_F32, 1, DIMS(2), 0);
  int n4 = ot_node(g, "Clip", "x,vec", "v", 0, NULL);
  assert_int_equal(ot_infer(g, n4, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "Clip_node");
  adx_tensor_free(&x);
  adx_tensor_free(&hi);
  adx_graph_free(g);
}

static void test_errors(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->opset = 13;
  ot_in(g, "i", ADX_I64, 1, DIMS(3), 0);
  adx_error e = {0};
  int n = ot_node(g, "Relu", "i", "r", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "Relu_node");
  /* Identity takes any type. */
  n = ot_node(g, "Identity", "i", "id", 0, NULL);
  adx_tensor t = ot_tensor(ADX_I64, 1, DIMS(3), IVALS(5, -6, 7)), y[2];
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&t}, y, 1, &e), ADX_OK);
  assert_int_equal(y[0].dtype, ADX_I64);
  ot_ieq(adx_i64(&y[0]), IVALS(5, -6, 7), 3);
  ot_free(y, 1);
  /* Dropout: the mask output and training mode are refused. */
  ot_in(g, "x", ADX_F32, 1, DIMS(3), 0);
  n = ot_node(g, "Dropout", "x", "d,mask", 0, NULL);
  adx_tensor xt = ot_tensor(ADX_F32, 1, DIMS(3), FVALS(1.f, -2.f, 3.f));
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&xt}, y, 1, &e), ADX_OK); /* unread mask: ones */
  ot_near(adx_f32(&y[0]), FVALS(1.f, -2.f, 3.f), 3, 0);
  ot_near(adx_f32(&y[1]), FVALS(1.f, 1.f, 1.f), 3, 0);
  ot_free(y, 2);
  adx_tensor_free(&xt);
  ot_node(g, "Identity", "mask", "m2", 0, NULL); /* now the mask is read */
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "mask");
  ot_const(g, "ratio", ADX_F32, 0, NULL, FVALS(0.5f));
  ot_const(g, "train", ADX_I64, 0, NULL, IVALS(1));
  ot_const(g, "notrain", ADX_I64, 0, NULL, IVALS(0));
  n = ot_node(g, "Dropout", "x,ratio,train", "d2", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "training");
  n = ot_node(g, "Dropout", "x,ratio,notrain", "d3", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  adx_tensor_free(&t);
  adx_graph_free(g);
}

/* Above the parallel threshold, 1 and 2 threads give the reference values. */
static void test_large_threaded(void **state) {
  (void)state;
  const int64_t N = 100003;
  adx_graph *g = adx_graph_new();
  g->opset = 14;
  ot_in(g, "x", ADX_F32, 1, &N, 1);
  int ns = ot_node(g, "Sigmoid", "x", "s", 0, NULL);
  int nl = ot_node(g, "LeakyRelu", "x", "l", 1, ot_attrs(1, ot_float("alpha", 0.2f)));
  adx_tensor x = ot_tensor(ADX_F32, 1, &N, NULL), y[1];
  ot_fill(adx_f32(&x), N, 7);
  float *want = malloc(sizeof(float) * (size_t)N);
  for (int th = 1; th <= 2; th++) {
    adx_error e = {0};
    assert_int_equal(ot_run(g, ns, (const adx_tensor *[]){&x}, y, th, &e), ADX_OK);
    for (int64_t i = 0; i < N; i++) want[i] = (float)(1.0 / (1.0 + exp(-(double)adx_f32(&x)[i])));
    ot_near(adx_f32(&y[0]), want, N, 1e-6);
    ot_free(y, 1);
    assert_int_equal(ot_run(g, nl, (const adx_tensor *[]){&x}, y, th, &e), ADX_OK);
    for (int64_t i = 0; i < N; i++) {
      float v = adx_f32(&x)[i];
      want[i] = v >= 0 ? v : 0.2f * v;
    }
    ot_near(adx_f32(&y[0]), want, N, 0);
    ot_free(y, 1);
  }
  free(want);
  adx_tensor_free(&x);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pointwise_values),
      cmocka_unit_test(test_clip_inputs),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_large_threaded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
