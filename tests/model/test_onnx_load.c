/* ONNX loading: the models written by scripts/make_model_tests.py (structure after the load-time
 * passes, error codes and messages) and the project's Fashion-MNIST ResNet fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/io.h"
#include "adx/model.h"
#include "common/testutil.h"

static char *model_path(const char *name) {
  static char buf[4][1024];
  static int k;
  char rel[512];
  snprintf(rel, sizeof rel, "models/%s", name);
  k = (k + 1) % 4;
  return (char *)tu_data(buf[k], sizeof buf[k], rel);
}

static adx_graph *load_ok(const char *name) {
  adx_graph *g = NULL;
  adx_error err = {0};
  adx_status s = adx_model_load(model_path(name), NULL, &g, &err);
  if (s) fail_msg("loading %s: %s", name, err.msg);
  assert_non_null(g);
  return g;
}

/* Load must fail with `code`; the message must contain every string of `needles` (NULL-terminated). */
static void load_fails(const char *name, const adx_model_limits *lim, adx_status code,
                       const char *const *needles) {
  adx_graph *g = (adx_graph *)1;
  adx_error err = {0};
  adx_status s = adx_model_load(model_path(name), lim, &g, &err);
  if (s != code)
    fail_msg("%s: expected %s, got %s: %s", name, adx_status_name(code), adx_status_name(s), err.msg);
  assert_null(g);
  assert_int_equal(err.code, code);
  for (const char *const *n = needles; *n; n++)
    if (!strstr(err.msg, *n)) fail_msg("%s: message lacks '%s': %s", name, *n, err.msg);
}

static int count_live(const adx_graph *g, const char *op) {
  int c = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead && (!op || !strcmp(g->nodes[i].op_type, op))) c++;
  return c;
}

static const adx_node *node_of(const adx_graph *g, const char *op) {
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead && !strcmp(g->nodes[i].op_type, op)) return &g->nodes[i];
  return NULL;
}

static const adx_value *value(const adx_graph *g, const char *name) {
  int i = adx_graph_find_value(g, name);
  if (i < 0) fail_msg("no value '%s'", name);
  return &g->values[i];
}

/* ---- models that load ---- */

static void test_conv_bn_structure(void **state) {
  (void)state;
  adx_graph *g = load_ok("conv_bn.onnx");
  assert_int_equal(g->opset, 13);
  assert_string_equal(g->producer, "adx-tests 1");
  assert_int_equal(g->declared_batch, 1);
  assert_int_equal(g->ninputs, 1);
  const adx_value *x = &g->values[g->inputs[0]];
  assert_string_equal(x->name, "x");
  assert_true(x->batched && !x->is_const);
  assert_int_equal(x->ndim, 4);
  assert_int_equal(x->dims[1], 3);
  assert_int_equal(x->dims[3], 8);
  assert_int_equal(g->noutputs, 1);
  const adx_value *y = &g->values[g->outputs[0]];
  assert_string_equal(y->name, "y");
  assert_int_equal(y->ndim, 2);
  assert_int_equal(y->dims[0], 1);
  assert_int_equal(y->dims[1], 5);
  /* BatchNormalization folded into the Conv, which gained nothing (it had a bias) */
  assert_int_equal(count_live(g, "BatchNormalization"), 0);
  const adx_node *conv = node_of(g, "Conv");
  assert_non_null(conv);
  assert_int_equal(conv->nin, 3);
  /* the Conv produces what BN produced, or Relu's output when the Conv fused its Relu */
  const char *cout = g->values[conv->out[0]].name;
  if (count_live(g, "Relu"))
    assert_string_equal(cout, "bn");
  else
    assert_string_equal(cout, "r");
  assert_int_equal(count_live(g, "GlobalAveragePool") + count_live(g, "Flatten") + count_live(g, "Gemm"), 3);
  /* 4x3x3x3 + 4 (conv) + 5x4 + 5 (fc); BN statistics no longer count */
  assert_int_equal(adx_graph_params(g), 108 + 4 + 20 + 5);
  assert_int_equal(value(g, "bn.var")->nconsumers, 0);
  /* batch change: shapes follow */
  adx_error err = {0};
  assert_int_equal(adx_graph_infer(g, 7, &err), ADX_OK);
  assert_int_equal(y->dims[0], 7);
  adx_graph_free(g);
}

static void test_external_data(void **state) {
  (void)state;
  adx_graph *g = load_ok("external.onnx");
  adx_tensor w;
  adx_error err = {0};
  assert_int_equal(adx_tensor_load_pb(model_path("external_W.pb"), &w, &err), ADX_OK);
  const adx_value *wv = value(g, "W");
  assert_true(wv->is_const);
  assert_int_equal(wv->cval.ndim, 4);
  for (int i = 0; i < 4; i++) assert_int_equal(wv->cval.dims[i], w.dims[i]);
  assert_memory_equal(wv->cval.data, w.data, 54 * sizeof(float));
  const adx_value *bv = value(g, "B");
  assert_true(bv->is_const);
  assert_int_equal(adx_tensor_numel(&bv->cval), 3);
  assert_int_equal(adx_graph_params(g), 54 + 3);
  adx_tensor_free(&w);
  adx_graph_free(g);
}

/* x.view(x.size(0), -1): Shape/Gather/Unsqueeze/Concat/Constant fold away; the Reshape's target is a
 * constant whose batch entry is 0 ("copy"), so other batch sizes work. */
static void check_view(const char *name) {
  adx_graph *g = load_ok(name);
  assert_int_equal(count_live(g, NULL), 3);
  const adx_node *rs = node_of(g, "Reshape");
  assert_non_null(rs);
  assert_non_null(node_of(g, "Gemm"));
  const adx_value *shp = &g->values[rs->in[1]];
  assert_true(shp->is_const);
  assert_int_equal(shp->cval.dtype, ADX_I64);
  assert_int_equal(adx_tensor_numel(&shp->cval), 2);
  assert_int_equal(adx_i64(&shp->cval)[0], 0);
  assert_int_equal(adx_i64(&shp->cval)[1], -1);
  const adx_value *y = &g->values[g->outputs[0]];
  assert_int_equal(y->dims[0], 1);
  adx_error err = {0};
  assert_int_equal(adx_graph_infer(g, 3, &err), ADX_OK);
  const adx_value *flat = &g->values[rs->out[0]];
  assert_int_equal(flat->ndim, 2);
  assert_int_equal(flat->dims[0], 3);
  assert_int_equal(flat->dims[1], 18);
  assert_int_equal(y->dims[0], 3);
  assert_int_equal(y->dims[1], 4);
  adx_graph_free(g);
}

static void test_view_dynamic(void **state) {
  (void)state;
  check_view("view.onnx");
}

static void test_view_static(void **state) {
  (void)state;
  check_view("view_static.onnx");
}

static void test_passthrough(void **state) {
  (void)state;
  adx_graph *g = load_ok("passthrough.onnx");
  assert_int_equal(count_live(g, NULL), 2); /* Relu, and id2 which produces the graph output */
  assert_int_equal(count_live(g, "Dropout"), 0);
  const adx_node *relu = node_of(g, "Relu");
  assert_non_null(relu);
  assert_string_equal(g->values[relu->in[0]].name, "x");
  adx_graph_free(g);
}

static void test_load_mem(void **state) {
  (void)state;
  FILE *f = fopen(model_path("conv_bn.onnx"), "rb");
  assert_non_null(f);
  static unsigned char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  adx_graph *g = NULL;
  adx_error err = {0};
  assert_int_equal(adx_model_load_mem(buf, n, NULL, NULL, &g, &err), ADX_OK);
  assert_int_equal(count_live(g, "BatchNormalization"), 0);
  adx_graph_free(g);
  /* garbage and empty buffers */
  const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
  assert_int_equal(adx_model_load_mem(junk, sizeof junk, "junk.onnx", NULL, &g, &err), ADX_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "junk.onnx"));
  assert_null(g);
  assert_int_equal(adx_model_load_mem(junk, 0, NULL, NULL, &g, &err), ADX_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "empty graph"));
  /* external data needs a directory to resolve against */
  f = fopen(model_path("external.onnx"), "rb");
  assert_non_null(f);
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  assert_int_equal(adx_model_load_mem(buf, n, NULL, NULL, &g, &err), ADX_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "external.bin"));
}

/* The Fashion-MNIST ResNet exported with BatchNormalization nodes kept must, after BN folding, look
 * like the same weights exported with PyTorch's own BN folding: same operators, same parameter count. */
static void test_resnet_bn_matches_torch_folding(void **state) {
  (void)state;
  char p1[1024], p2[1024];
  tu_data(p1, sizeof p1, "fashion_resnet.onnx");
  tu_data(p2, sizeof p2, "fashion_resnet_bn.onnx");
  adx_graph *a = NULL, *b = NULL;
  adx_error err = {0};
  if (adx_model_load(p1, NULL, &a, &err) == ADX_ERR_IO) skip(); /* fixtures not generated */
  if (err.code) fail_msg("%s", err.msg);
  if (adx_model_load(p2, NULL, &b, &err)) fail_msg("%s", err.msg);
  assert_int_equal(count_live(b, "BatchNormalization"), 0);
  assert_int_equal(count_live(b, "Identity"), 0);
  const char *ops[] = {"Conv", "Relu", "Add", "GlobalAveragePool", "Flatten", "Gemm"};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    assert_int_equal(count_live(a, ops[i]), count_live(b, ops[i]));
  assert_int_equal(count_live(a, NULL), count_live(b, NULL));
  assert_int_equal(adx_graph_params(a), 77418); /* sum of the initializers' sizes (onnx python) */
  assert_int_equal(adx_graph_params(b), 77418);
  adx_graph_free(a);
  adx_graph_free(b);
}

/* The fixture carries its preprocessing in metadata_props (scripts/make_fixtures.py); a flag or config
 * key given before wins over the model's value, and a bad value names the model and the key. */
static void test_metadata_preprocess(void **state) {
  (void)state;
  char p[1024];
  tu_data(p, sizeof p, "fashion_resnet.onnx");
  adx_graph *g = NULL;
  adx_error err = {0};
  if (adx_model_load(p, NULL, &g, &err) == ADX_ERR_IO) skip();
  if (err.code) fail_msg("%s", err.msg);
  assert_string_equal(adx_graph_meta(g, "preprocess.mean"), "0.2860");
  assert_null(adx_graph_meta(g, "preprocess.resize"));
  adx_preproc pp;
  adx_preproc_default(&pp);
  assert_int_equal(adx_preproc_set(&pp, "mean", "0.5", &err), ADX_OK);
  assert_int_equal(adx_preproc_from_model(&pp, g, &err), ADX_OK);
  assert_true(pp.norm.mean[0] == 0.5f && pp.norm.nmean == 1);  /* the flag wins */
  assert_true(pp.norm.std[0] == 0.3530f && pp.norm.nstd == 1); /* the model's */
  assert_true(pp.norm.scale == 1.0f / 255.0f);                 /* "1/255" */
  assert_int_equal(pp.given, ADX_PREPROC_MEAN);
  free(g->meta[2 * 2 + 1]); /* preprocess.std */
  g->meta[2 * 2 + 1] = strdup("-1");
  adx_preproc_default(&pp);
  assert_int_equal(adx_preproc_from_model(&pp, g, &err), ADX_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "fashion_resnet.onnx: metadata_props preprocess.std: "));
  adx_graph_free(g);
}

/* ---- models that must be refused ---- */

static void test_unsupported_op(void **state) {
  (void)state;
  const char *n[] = {"lstm.onnx", "'lstm_1'", "'LSTM'", "supported:", "Conv", NULL};
  load_fails("lstm.onnx", NULL, ADX_ERR_UNSUPPORTED, n);
}

static void test_truncated(void **state) {
  (void)state;
  const char *n[] = {"truncated.onnx", "not a valid ONNX model", NULL};
  load_fails("truncated.onnx", NULL, ADX_ERR_FORMAT, n);
}

static void test_escaping_external_data(void **state) {
  (void)state;
  const char *n[] = {"escape.onnx", "'W'", "../escape.bin", NULL};
  load_fails("escape.onnx", NULL, ADX_ERR_FORMAT, n);
}

static void test_missing_file(void **state) {
  (void)state;
  const char *n[] = {"no_such_model.onnx", "cannot open", NULL};
  load_fails("no_such_model.onnx", NULL, ADX_ERR_IO, n);
}

static void test_custom_domain(void **state) {
  (void)state;
  const char *n[] = {"custom_domain.onnx", "'fancy'", "com.example", NULL};
  load_fails("custom_domain.onnx", NULL, ADX_ERR_UNSUPPORTED, n);
}

static void test_unsorted(void **state) {
  (void)state;
  const char *n[] = {"unsorted.onnx", "'second'", "'a'", NULL};
  load_fails("unsorted.onnx", NULL, ADX_ERR_FORMAT, n);
}

static void test_symbolic_spatial(void **state) {
  (void)state;
  const char *n[] = {"symbolic_hw.onnx", "'x'", "'H'", NULL};
  load_fails("symbolic_hw.onnx", NULL, ADX_ERR_UNSUPPORTED, n);
}

static void test_int_input(void **state) {
  (void)state;
  const char *n[] = {"int_input.onnx", "'x'", "float", NULL};
  load_fails("int_input.onnx", NULL, ADX_ERR_UNSUPPORTED, n);
}

static void test_old_opset(void **state) {
  (void)state;
  const char *n[] = {"opset5.onnx", "opset 5", NULL};
  load_fails("opset5.onnx", NULL, ADX_ERR_UNSUPPORTED, n);
}

static void test_limits(void **state) {
  (void)state;
  adx_model_limits lim;
  adx_model_limits_default(&lim);
  assert_true(lim.max_file_bytes >= ((int64_t)1 << 30));
  lim.max_file_bytes = 100;
  const char *n1[] = {"conv_bn.onnx", "limit", NULL};
  load_fails("conv_bn.onnx", &lim, ADX_ERR_LIMIT, n1);
  adx_model_limits_default(&lim);
  lim.max_tensor_elems = 50; /* conv.W has 108 */
  const char *n2[] = {"conv_bn.onnx", "'conv.W'", NULL};
  load_fails("conv_bn.onnx", &lim, ADX_ERR_LIMIT, n2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_bn_structure),
      cmocka_unit_test(test_external_data),
      cmocka_unit_test(test_view_dynamic),
      cmocka_unit_test(test_view_static),
      cmocka_unit_test(test_passthrough),
      cmocka_unit_test(test_load_mem),
      cmocka_unit_test(test_resnet_bn_matches_torch_folding),
      cmocka_unit_test(test_metadata_preprocess),
      cmocka_unit_test(test_unsupported_op),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_escaping_external_data),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_custom_domain),
      cmocka_unit_test(test_unsorted),
      cmocka_unit_test(test_symbolic_spatial),
      cmocka_unit_test(test_int_input),
      cmocka_unit_test(test_old_opset),
      cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
