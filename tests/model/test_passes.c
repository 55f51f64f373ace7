/* Graph passes (adx_graph_prepare) on hand-built graphs. The nodes use small fake operators defined
 * here, so these tests exercise the passes alone, whatever state the real operators are in.
 * Expected values are derived by hand in the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ir.h"
#include "adx/model.h" /* adx_graph_prepare */

/* ---- fake operators ---- */

static adx_status same_infer(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x = adx_node_in(g, n, 0);
  adx_value_set(adx_node_out(g, n, 0), x->dtype, x->ndim, x->dims, x->batched);
  return ADX_OK;
}

static adx_status add_run(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                          adx_op_ctx *ctx, adx_error *err) {
  for (int64_t i = 0; i < adx_tensor_numel(out[0]); i++)
    adx_f32(out[0])[i] = adx_f32(in[0])[i] + adx_f32(in[1])[i];
  return ADX_OK;
}

static int fake_runs; /* how many times a fake run() was called (constant folding) */

static adx_status copy_run(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                           adx_op_ctx *ctx, adx_error *err) {
  fake_runs++;
  memcpy(out[0]->data, in[0]->data, (size_t)adx_tensor_numel(in[0]) * adx_dtype_size(in[0]->dtype));
  return ADX_OK;
}

/* 1x1 Conv: x [N,C,H,W], W [M,C,1,1] -> [N,M,H,W]. */
static adx_status conv_infer(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x = adx_node_in(g, n, 0), *w = adx_node_in(g, n, 1);
  int64_t d[4] = {x->dims[0], w->dims[0], x->dims[2], x->dims[3]};
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, 4, d, x->batched);
  return ADX_OK;
}

/* Shape marks its output constant inside infer, as the real one may. */
static adx_status shape_infer(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x = adx_node_in(g, n, 0), *y = adx_node_out(g, n, 0);
  int64_t d = x->ndim;
  adx_tensor_free(&y->cval);
  adx_status s = adx_tensor_alloc(&y->cval, ADX_I64, 1, &d, err);
  if (s) return s;
  memcpy(y->cval.data, x->dims, sizeof(int64_t) * (size_t)x->ndim);
  adx_value_set(y, ADX_I64, 1, &d, 0);
  y->is_const = 1;
  return ADX_OK;
}

/* Reshape with ONNX's 0 (copy) and -1 (infer) rules. */
static adx_status reshape_infer(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x = adx_node_in(g, n, 0), *s = adx_node_in(g, n, 1);
  if (!s->is_const) return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "shape not constant");
  int64_t d[ADX_MAX_DIMS], known = 1, neg = -1, total = adx_value_numel(x);
  int nd = (int)s->cval.dims[0];
  for (int i = 0; i < nd; i++) {
    d[i] = adx_i64(&s->cval)[i];
    if (d[i] == 0) d[i] = x->dims[i];
    if (d[i] == -1)
      neg = i;
    else
      known *= d[i];
  }
  if (neg >= 0) d[neg] = total / known;
  adx_value_set(adx_node_out(g, n, 0), x->dtype, nd, d, x->batched);
  return ADX_OK;
}

static const adx_op fake_add = {
    .name = "Add", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .infer = same_infer, .run = add_run};
static const adx_op fake_relu = {.name = "Relu",
                                 .min_in = 1,
                                 .max_in = 1,
                                 .min_out = 1,
                                 .max_out = 1,
                                 .infer = same_infer,
                                 .run = copy_run};
static const adx_op fake_identity = {.name = "Identity",
                                     .min_in = 1,
                                     .max_in = 1,
                                     .min_out = 1,
                                     .max_out = 1,
                                     .infer = same_infer,
                                     .run = copy_run};
static const adx_op fake_bn = {.name = "BatchNormalization",
                               .min_in = 5,
                               .max_in = 5,
                               .min_out = 1,
                               .max_out = 1,
                               .infer = same_infer,
                               .run = copy_run};
static const adx_op fake_conv = {.name = "Conv",
                                 .min_in = 2,
                                 .max_in = 3,
                                 .min_out = 1,
                                 .max_out = 1,
                                 .infer = conv_infer,
                                 .run = copy_run};
static const adx_op fake_shape = {.name = "Shape",
                                  .min_in = 1,
                                  .max_in = 1,
                                  .min_out = 1,
                                  .max_out = 1,
                                  .infer = shape_infer,
                                  .run = copy_run};
static const adx_op fake_reshape = {.name = "Reshape",
                                    .min_in = 2,
                                    .max_in = 2,
                                    .min_out = 1,
                                    .max_out = 1,
                                    .infer = reshape_infer,
                                    .run = copy_run};

/* ---- graph building helpers ---- */

static int input(adx_graph *g, const char *name, int ndim, const int64_t *dims) {
  int i = adx_graph_value(g, name);
  adx_value_set(&g->values[i], ADX_F32, ndim, dims, 1);
  g->values[i].is_input = 1;
  g->inputs = realloc(g->inputs, sizeof(int) * (size_t)(g->ninputs + 1));
  g->inputs[g->ninputs++] = i;
  return i;
}

static int cfloat(adx_graph *g, const char *name, int ndim, const int64_t *dims, const float *v) {
  int i = adx_graph_value(g, name);
  adx_value *x = &g->values[i];
  assert_int_equal(adx_tensor_alloc(&x->cval, ADX_F32, ndim, dims, NULL), ADX_OK);
  memcpy(x->cval.data, v, sizeof(float) * (size_t)adx_tensor_numel(&x->cval));
  adx_value_set(x, ADX_F32, ndim, dims, 0);
  x->is_const = 1;
  return i;
}

static int cint(adx_graph *g, const char *name, int n, const int64_t *v) {
  int i = adx_graph_value(g, name);
  adx_value *x = &g->values[i];
  int64_t d = n;
  assert_int_equal(adx_tensor_alloc(&x->cval, ADX_I64, 1, &d, NULL), ADX_OK);
  memcpy(x->cval.data, v, sizeof(int64_t) * (size_t)n);
  adx_value_set(x, ADX_I64, 1, &d, 0);
  x->is_const = 1;
  return i;
}

static int node(adx_graph *g, const adx_op *op, const char *name, int nin, const int *in, const char *out) {
  int o = adx_graph_value(g, out);
  int k = adx_graph_add_node(g, name, op->name, nin, in, 1, &o, 0, NULL);
  assert_true(k >= 0);
  g->nodes[k].op = op; /* the fake, not the registry's */
  return o;
}

static void output(adx_graph *g, int v) {
  g->values[v].is_output = 1;
  g->outputs = realloc(g->outputs, sizeof(int) * (size_t)(g->noutputs + 1));
  g->outputs[g->noutputs++] = v;
}

static const adx_node *find_node(const adx_graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (!strcmp(g->nodes[i].name, name)) return &g->nodes[i];
  return NULL;
}

static int vid(const adx_graph *g, const char *name) {
  int i = adx_graph_find_value(g, name);
  assert_true(i >= 0);
  return i;
}

/* ---- tests ---- */

/* Add(c1, c2) is folded to {11, 22} before Add(x, s) is inferred; c1, c2 are then unused. */
static void test_constant_folding(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  int64_t xd[2] = {1, 2}, cd[1] = {2};
  int x = input(g, "x", 2, xd);
  int c1 = cfloat(g, "c1", 1, cd, (const float[]){1, 2}),
      c2 = cfloat(g, "c2", 1, cd, (const float[]){10, 20});
  int s = node(g, &fake_add, "fold_me", 2, (int[]){c1, c2}, "s");
  int y = node(g, &fake_add, "keep_me", 2, (int[]){x, s}, "y");
  output(g, y);
  adx_error err = {0};
  assert_int_equal(adx_graph_prepare(g, &err), ADX_OK);
  assert_int_equal(g->nnodes, 1);
  assert_string_equal(g->nodes[0].name, "keep_me");
  s = vid(g, "s");
  assert_true(g->values[s].is_const);
  assert_true(adx_f32(&g->values[s].cval)[0] == 11.0f);
  assert_true(adx_f32(&g->values[s].cval)[1] == 22.0f);
  assert_int_equal(g->values[s].nconsumers, 1);
  assert_int_equal(g->values[vid(g, "c1")].nconsumers, 0);
  assert_int_equal(g->values[vid(g, "y")].producer, 0);
  assert_int_equal(adx_graph_params(g), 2); /* only s is still read */
  adx_graph_free(g);
}

/* Conv (1x1, W [3,2,1,1], no bias) -> BN with var + eps = 4, so s = scale / 2:
 *   scale = {2, 4, -2}  -> s = {1, 2, -1}
 *   W' = W * s per output channel; b' = (0 - mean) * s + B with mean = {1, 2, 3}, B = {0.5, 0, 1}
 *   -> b' = {-1 + 0.5, -4 + 0, 3 + 1} = {-0.5, -4, 4}. */
static void test_batchnorm_folding(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {3, 2, 1, 1}, pd[1] = {3};
  int x = input(g, "x", 4, xd);
  int w = cfloat(g, "W", 4, wd, (const float[]){1, 2, 3, 4, 5, 6});
  int sc = cfloat(g, "scale", 1, pd, (const float[]){2, 4, -2});
  int b = cfloat(g, "B", 1, pd, (const float[]){0.5f, 0, 1});
  int mean = cfloat(g, "mean", 1, pd, (const float[]){1, 2, 3});
  int var = cfloat(g, "var", 1, pd, (const float[]){3.5f, 3.5f, 3.5f});
  int c = node(g, &fake_conv, "conv", 2, (int[]){x, w}, "c");
  adx_attr *eps = calloc(1, sizeof *eps);
  eps->name = strdup("epsilon");
  eps->type = ADX_ATTR_FLOAT;
  eps->f = 0.5f;
  int o = adx_graph_value(g, "y");
  int k = adx_graph_add_node(g, "bn", "BatchNormalization", 5, (int[]){c, sc, b, mean, var}, 1, &o, 1, eps);
  g->nodes[k].op = &fake_bn;
  output(g, o);
  adx_error err = {0};
  assert_int_equal(adx_graph_prepare(g, &err), ADX_OK);
  assert_int_equal(g->nnodes, 1);
  const adx_node *conv = find_node(g, "conv");
  assert_non_null(conv);
  assert_int_equal(conv->nin, 3);
  assert_int_equal(conv->out[0], vid(g, "y"));
  assert_int_equal(g->values[vid(g, "y")].producer, 0);
  const float *w2 = adx_f32(&g->values[conv->in[1]].cval), *b2 = adx_f32(&g->values[conv->in[2]].cval);
  const float wexp[6] = {1, 2, 6, 8, -5, -6}, bexp[3] = {-0.5f, -4, 4};
  for (int i = 0; i < 6; i++) assert_float_equal(w2[i], wexp[i], 1e-6);
  for (int i = 0; i < 3; i++) assert_float_equal(b2[i], bexp[i], 1e-6);
  assert_int_equal(g->values[vid(g, "y")].ndim, 4);
  assert_int_equal(g->values[vid(g, "y")].dims[1], 3);
  assert_int_equal(adx_graph_params(g), 9); /* W' and the new bias; BN statistics are gone */
  adx_graph_free(g);
}

/* A Conv whose output is also read elsewhere keeps its BatchNormalization. */
static void test_batchnorm_not_folded_when_shared(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  int64_t xd[4] = {1, 1, 2, 2}, wd[4] = {1, 1, 1, 1}, pd[1] = {1};
  int x = input(g, "x", 4, xd);
  int w = cfloat(g, "W", 4, wd, (const float[]){2});
  int p[4];
  for (int i = 0; i < 4; i++) {
    char nm[8] = {'p', (char)('0' + i), 0};
    p[i] = cfloat(g, nm, 1, pd, (const float[]){1});
  }
  int c = node(g, &fake_conv, "conv", 2, (int[]){x, w}, "c");
  int y = node(g, &fake_bn, "bn", 5, (int[]){c, p[0], p[1], p[2], p[3]}, "y");
  int z = node(g, &fake_add, "add", 2, (int[]){y, c}, "z");
  output(g, z);
  adx_error err = {0};
  assert_int_equal(adx_graph_prepare(g, &err), ADX_OK);
  assert_int_equal(g->nnodes, 3);
  assert_non_null(find_node(g, "bn"));
  assert_true(adx_f32(&g->values[vid(g, "W")].cval)[0] == 2.0f); /* untouched */
  adx_graph_free(g);
}

/* x -> Identity id1 -> Relu -> Identity id2 (graph output): id1 goes, id2 stays. */
static void test_identity_removal(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  int64_t xd[2] = {1, 4};
  int x = input(g, "x", 2, xd);
  int a = node(g, &fake_identity, "id1", 1, &x, "a");
  int b = node(g, &fake_relu, "relu", 1, &a, "b");
  int y = node(g, &fake_identity, "id2", 1, &b, "y");
  output(g, y);
  adx_error err = {0};
  assert_int_equal(adx_graph_prepare(g, &err), ADX_OK);
  assert_int_equal(g->nnodes, 2);
  assert_null(find_node(g, "id1"));
  const adx_node *relu = find_node(g, "relu");
  assert_non_null(relu);
  assert_int_equal(relu->in[0], vid(g, "x"));
  assert_non_null(find_node(g, "id2"));
  assert_int_equal(g->values[vid(g, "a")].nconsumers, 0);
  assert_int_equal(g->values[vid(g, "x")].nconsumers, 1);
  adx_graph_free(g);
}

/* A node whose output reaches no graph output is removed. */
static void test_unused_node_removed(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  int64_t xd[2] = {1, 4};
  int x = input(g, "x", 2, xd);
  node(g, &fake_relu, "dangling", 1, &x, "unused");
  int y = node(g, &fake_relu, "relu", 1, &x, "y");
  output(g, y);
  adx_error err = {0};
  assert_int_equal(adx_graph_prepare(g, &err), ADX_OK);
  assert_int_equal(g->nnodes, 1);
  assert_string_equal(g->nodes[0].name, "relu");
  assert_int_equal(g->values[vid(g, "y")].producer, 0);
  adx_graph_free(g);
}

/* torch's x.view(x.size(0), -1): Shape(x) is folded at the model batch (1), giving [1, 6] here as
 * the shape constant c = {1, -1} would; the Reshape's leading 1 becomes 0 so that at batch 4 the
 * output is [4, 6], not [1, 24]. A shared shape constant is copied, not changed for its other reader. */
static void test_reshape_follows_batch(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  int64_t xd[3] = {1, 2, 3};
  int x = input(g, "x", 3, xd);
  int s = node(g, &fake_shape, "shape", 1, &x, "s");
  int sh = cint(g, "target", 2, (const int64_t[]){1, -1});
  int r1 = node(g, &fake_reshape, "reshape1", 2, (int[]){x, sh}, "r1");
  int r2 = node(g, &fake_reshape, "reshape2", 2, (int[]){x, sh}, "r2");
  int y = node(g, &fake_add, "add", 2, (int[]){r1, r2}, "y");
  output(g, y);
  (void)s;
  adx_error err = {0};
  assert_int_equal(adx_graph_prepare(g, &err), ADX_OK);
  assert_null(find_node(g, "shape")); /* folded by its own infer, then unused */
  const adx_node *n1 = find_node(g, "reshape1"), *n2 = find_node(g, "reshape2");
  assert_non_null(n1);
  assert_non_null(n2);
  assert_int_equal(adx_i64(&g->values[n1->in[1]].cval)[0], 0);
  assert_int_equal(adx_i64(&g->values[n2->in[1]].cval)[0], 0);
  assert_int_equal(adx_i64(&g->values[n1->in[1]].cval)[1], -1);
  assert_int_not_equal(n1->in[1], n2->in[1]); /* the first got a private copy */
  assert_int_equal(adx_graph_infer(g, 4, &err), ADX_OK);
  const adx_value *yv = &g->values[vid(g, "y")];
  assert_int_equal(yv->ndim, 2);
  assert_int_equal(yv->dims[0], 4);
  assert_int_equal(yv->dims[1], 6);
  adx_graph_free(g);
}

/* A constant shape feeding a graph output's Reshape whose first element is not the batch is left alone. */
static void test_reshape_other_shape_untouched(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  int64_t xd[3] = {1, 2, 3};
  int x = input(g, "x", 3, xd);
  int sh = cint(g, "target", 3, (const int64_t[]){3, 2, 1});
  int y = node(g, &fake_reshape, "reshape", 2, (int[]){x, sh}, "y");
  output(g, y);
  adx_error err = {0};
  assert_int_equal(adx_graph_prepare(g, &err), ADX_OK);
  assert_int_equal(adx_i64(&g->values[vid(g, "target")].cval)[0], 3);
  adx_graph_free(g);
}

/* A node without an operator is refused, naming it. */
static void test_unknown_operator(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  int64_t xd[2] = {1, 4};
  int x = input(g, "x", 2, xd);
  int o = adx_graph_value(g, "y");
  int k = adx_graph_add_node(g, "weird", "NoSuchOp", 1, &x, 1, &o, 0, NULL);
  assert_null(g->nodes[k].op);
  output(g, o);
  adx_error err = {0};
  assert_int_equal(adx_graph_prepare(g, &err), ADX_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "weird"));
  assert_non_null(strstr(err.msg, "NoSuchOp"));
  adx_graph_free(g);
}

/* Folding runs the operator once at load; the node is then gone and never runs again. */
static void test_fold_runs_once(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  int64_t xd[2] = {1, 2}, cd[1] = {2};
  int x = input(g, "x", 2, xd);
  int c = cfloat(g, "c", 1, cd, (const float[]){3, 4});
  int r = node(g, &fake_relu, "crelu", 1, &c, "r");
  int y = node(g, &fake_add, "add", 2, (int[]){x, r}, "y");
  output(g, y);
  fake_runs = 0;
  adx_error err = {0};
  assert_int_equal(adx_graph_prepare(g, &err), ADX_OK);
  assert_int_equal(fake_runs, 1);
  assert_null(find_node(g, "crelu"));
  assert_true(adx_f32(&g->values[vid(g, "r")].cval)[1] == 4.0f);
  assert_int_equal(adx_graph_infer(g, 3, &err), ADX_OK);
  assert_int_equal(fake_runs, 1);
  assert_int_equal(g->values[vid(g, "y")].dims[0], 3);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_constant_folding),
      cmocka_unit_test(test_batchnorm_folding),
      cmocka_unit_test(test_batchnorm_not_folded_when_shared),
      cmocka_unit_test(test_identity_removal),
      cmocka_unit_test(test_unused_node_removed),
      cmocka_unit_test(test_reshape_follows_batch),
      cmocka_unit_test(test_reshape_other_shape_untouched),
      cmocka_unit_test(test_unknown_operator),
      cmocka_unit_test(test_fold_runs_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
