/* Conv: ONNX test data, an independent naive 7-loop reference, hand-computed cases, fused activations,
 * errors, the AD active-position path, and bit-exactness across batch compositions and thread counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <oneapi/dnnl/dnnl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ops/conv.h"
#include "adx/ir.h"
#include "adx/model.h"
#include "common/attr.h"

/* Which path run_node takes: 0 the BLAS reference path, 1 oneDNN (conv_lib.c). Set by each test's setup;
 * the cases that run through run_node are registered once per path. */
static int use_lib;
static int setup_blas(void **state) {
  (void)state;
  use_lib = 0;
  return 0;
}
static int setup_lib(void **state) {
  (void)state;
  use_lib = 1;
  return 0;
}
/* oneDNN with every layer direct (ADX_CONV=dnnl-direct): the default lets 3x3 stride-1 layers take
 * oneDNN's Winograd kernels where the CPU has them, so the direct kernels are tested on their own too. */
static char saved_conv[32];
static int had_conv;
static void save_conv_env(void) {
  const char *v = getenv("ADX_CONV");
  had_conv = v != NULL;
  snprintf(saved_conv, sizeof saved_conv, "%s", v ? v : "");
}
static void restore_conv_env(void) {
  if (had_conv)
    setenv("ADX_CONV", saved_conv, 1);
  else
    unsetenv("ADX_CONV");
}
static int setup_lib_direct(void **state) {
  (void)state;
  use_lib = 1;
  save_conv_env();
  setenv("ADX_CONV", "dnnl-direct", 1);
  return 0;
}
static int teardown_env(void **state) {
  (void)state;
  restore_conv_env();
  return 0;
}

/* ---------- graph building helpers ---------- */

static int add_input(adx_graph *g, const char *name, int nd, const int64_t *dims) {
  int v = adx_graph_value(g, name);
  assert_true(v >= 0);
  adx_value_set(&g->values[v], ADX_F32, nd, dims, 1);
  g->values[v].is_input = 1;
  return v;
}

static int add_const(adx_graph *g, const char *name, int nd, const int64_t *dims, const float *data) {
  int v = adx_graph_value(g, name);
  assert_true(v >= 0);
  adx_value *val = &g->values[v];
  assert_int_equal(adx_tensor_alloc(&val->cval, ADX_F32, nd, dims, NULL), ADX_OK);
  memcpy(val->cval.data, data, sizeof(float) * (size_t)adx_tensor_numel(&val->cval));
  val->is_const = 1;
  adx_value_set(val, ADX_F32, nd, dims, 0);
  return v;
}

/* Allocate the output from the inferred shape and run the node with x as its first input. */
static adx_status run_node(adx_graph *g, int ni, const adx_tensor *x, int threads, adx_tensor *y,
                           adx_error *err) {
  adx_node *n = &g->nodes[ni];
  const adx_tensor *in[3] = {x, NULL, NULL};
  for (int k = 1; k < n->nin && k < 3; k++)
    if (n->in[k] >= 0) in[k] = &g->values[n->in[k]].cval;
  adx_value *ov = &g->values[n->out[0]];
  assert_int_equal(adx_tensor_alloc(y, ADX_F32, ov->ndim, ov->dims, NULL), ADX_OK);
  size_t sb = n->op->scratch ? n->op->scratch(g, n, threads) : 0;
  void *scr = sb ? adx_alloc(sb) : NULL;
  adx_op_ctx ctx = {scr, sb, threads, use_lib, NULL};
  adx_tensor *outs[1] = {y};
  adx_status s = n->op->run(n, in, outs, &ctx, err);
  adx_free(scr);
  return s;
}

/* ---------- deterministic random data ---------- */

static uint64_t rng_state = 88172645463325252ull;
static float frand(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((double)(rng_state >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}
static float *rand_buf(size_t n) {
  float *a = malloc(sizeof(float) * (n ? n : 1));
  for (size_t i = 0; i < n; i++) a[i] = frand();
  return a;
}

/* ---------- the independent reference: a plain 7-loop direct convolution in double ---------- */

typedef struct conv_case {
  int N, C, H, W, M, kh, kw, group;
  int sh, sw, dh, dw;
  int pt, pl, pb, pr;   /* explicit pads used by the reference */
  const char *auto_pad; /* NULL: pads attribute = the explicit pads */
  int bias;
  int give_kernel_shape;
} conv_case;

static int ref_out(int in, int k, int s, int d, int p0, int p1) {
  return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
}

static void ref_conv(const conv_case *c, const float *x, const float *w, const float *b, float *y, int OH,
                     int OW) {
  int Cg = c->C / c->group, Mg = c->M / c->group;
  for (int n = 0; n < c->N; n++)
    for (int m = 0; m < c->M; m++) {
      int g = m / Mg;
      for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
          double acc = b ? b[m] : 0.0;
          for (int ci = 0; ci < Cg; ci++)
            for (int i = 0; i < c->kh; i++)
              for (int j = 0; j < c->kw; j++) {
                int ih = oh * c->sh - c->pt + i * c->dh, iw = ow * c->sw - c->pl + j * c->dw;
                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
                acc += (double)x[((size_t)(n * c->C + g * Cg + ci) * c->H + ih) * c->W + iw] *
                       w[((size_t)(m * Cg + ci) * c->kh + i) * c->kw + j];
              }
          y[((size_t)(n * c->M + m) * OH + oh) * OW + ow] = (float)acc;
        }
    }
}

/* Build a graph holding one Conv node for case c; returns the graph, *ni the node index. */
static adx_graph *build_conv(const conv_case *c, const float *w, const float *b, int *ni) {
  adx_graph *g = adx_graph_new();
  int64_t xd[4] = {c->N, c->C, c->H, c->W};
  int64_t wd[4] = {c->M, c->C / c->group, c->kh, c->kw};
  int64_t bd[1] = {c->M};
  int in[3];
  in[0] = add_input(g, "x", 4, xd);
  in[1] = add_const(g, "w", 4, wd, w);
  int nin = 2;
  if (c->bias) in[nin++] = add_const(g, "b", 1, bd, b);
  int out[1] = {adx_graph_value(g, "y")};
  adx_attr *at = calloc(8, sizeof *at);
  int na = 0;
  int64_t s[2] = {c->sh, c->sw}, d[2] = {c->dh, c->dw}, k[2] = {c->kh, c->kw},
          p[4] = {c->pt, c->pl, c->pb, c->pr};
  at[na++] = tu_attr_ints("strides", 2, s);
  at[na++] = tu_attr_ints("dilations", 2, d);
  at[na++] = tu_attr_int("group", c->group);
  if (c->give_kernel_shape) at[na++] = tu_attr_ints("kernel_shape", 2, k);
  if (c->auto_pad)
    at[na++] = tu_attr_str("auto_pad", c->auto_pad);
  else
    at[na++] = tu_attr_ints("pads", 4, p);
  *ni = adx_graph_add_node(g, "conv_under_test", "Conv", nin, in, 1, out, na, at);
  assert_true(*ni >= 0);
  assert_non_null(g->nodes[*ni].op);
  return g;
}

static void check_close(const float *got, const float *want, size_t n, double tol) {
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    if (d > tol * (1.0 + fabs(want[i]))) fail_msg("element %zu: got %.8g want %.8g", i, got[i], want[i]);
  }
}

/* Run case c with random data at `threads` and compare with the reference. */
static void run_case(const conv_case *c, int threads) {
  int Cg = c->C / c->group;
  size_t xn = (size_t)c->N * c->C * c->H * c->W, wn = (size_t)c->M * Cg * c->kh * c->kw;
  float *x = rand_buf(xn), *w = rand_buf(wn), *b = rand_buf((size_t)c->M);
  int ni;
  adx_graph *g = build_conv(c, w, b, &ni);
  adx_error err = {0};
  adx_status s = g->nodes[ni].op->infer(g, &g->nodes[ni], &err);
  if (s) fail_msg("infer: %s", err.msg);
  int OH = ref_out(c->H, c->kh, c->sh, c->dh, c->pt, c->pb),
      OW = ref_out(c->W, c->kw, c->sw, c->dw, c->pl, c->pr);
  const adx_value *yv = &g->values[g->nodes[ni].out[0]];
  assert_int_equal(yv->ndim, 4);
  assert_int_equal(yv->dims[0], c->N);
  assert_int_equal(yv->dims[1], c->M);
  assert_int_equal(yv->dims[2], OH);
  assert_int_equal(yv->dims[3], OW);
  assert_int_equal(yv->batched, 1);
  adx_window win;
  g->nodes[ni].op->window(&g->nodes[ni], &win);
  assert_int_equal(win.ph0, c->pt);
  assert_int_equal(win.pw0, c->pl);
  assert_int_equal(win.ph1, c->pb);
  assert_int_equal(win.pw1, c->pr);
  adx_tensor xt = {0};
  int64_t xd[4] = {c->N, c->C, c->H, c->W};
  assert_int_equal(adx_tensor_alloc(&xt, ADX_F32, 4, xd, NULL), ADX_OK);
  memcpy(xt.data, x, sizeof(float) * xn);
  adx_tensor yt = {0};
  s = run_node(g, ni, &xt, threads, &yt, &err);
  if (s) fail_msg("run: %s", err.msg);
  size_t yn = (size_t)c->N * c->M * OH * OW;
  float *want = malloc(sizeof(float) * yn);
  ref_conv(c, x, w, c->bias ? b : NULL, want, OH, OW);
  check_close(adx_f32(&yt), want, yn, 1e-5);
  free(want);
  adx_tensor_free(&xt);
  adx_tensor_free(&yt);
  adx_graph_free(g);
  free(x);
  free(w);
  free(b);
}

/*                              N  C  H   W   M  kh kw grp sh sw dh dw pt pl pb pr auto_pad bias ks */
static const conv_case cases[] = {
    {1, 3, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1},         /* plain 3x3 pad 1 */
    {2, 3, 9, 8, 5, 3, 3, 1, 1, 1, 1, 1, 2, 2, 2, 2, NULL, 1, 0},         /* pad > k/2, kernel from W */
    {1, 2, 11, 10, 3, 3, 3, 1, 1, 1, 2, 2, 1, 1, 1, 1, NULL, 0, 1},       /* dilation 2 */
    {2, 4, 10, 9, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1},        /* group 2 */
    {2, 6, 9, 9, 6, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1},         /* depthwise */
    {1, 4, 12, 11, 8, 3, 3, 4, 2, 2, 1, 1, 1, 1, 1, 1, NULL, 1, 1},       /* depthwise x2, stride 2 */
    {1, 3, 10, 10, 3, 5, 5, 3, 1, 1, 2, 2, 2, 3, 4, 1, NULL, 0, 1},       /* depthwise dilated asym */
    {1, 3, 13, 11, 4, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, NULL, 1, 1},       /* stride 2 */
    {1, 3, 13, 11, 4, 3, 3, 1, 3, 2, 1, 1, 0, 1, 2, 0, NULL, 1, 1},       /* strides 3,2 asym pads */
    {2, 8, 7, 9, 5, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, NULL, 1, 1},         /* 1x1 direct */
    {1, 8, 7, 9, 5, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, NULL, 1, 1},         /* 1x1 stride 2 */
    {1, 8, 6, 6, 4, 1, 1, 2, 1, 1, 1, 1, 1, 0, 0, 1, NULL, 0, 1},         /* 1x1 grouped padded */
    {1, 2, 6, 7, 3, 3, 3, 1, 2, 2, 1, 1, 0, 1, 1, 1, "SAME_UPPER", 1, 1}, /* auto_pad upper (odd) */
    {1, 2, 6, 7, 3, 3, 3, 1, 2, 2, 1, 1, 1, 1, 0, 1, "SAME_LOWER", 1, 1}, /* auto_pad lower (odd) */
    {1, 2, 6, 7, 3, 2, 4, 1, 1, 1, 1, 1, 0, 1, 1, 2, "SAME_UPPER", 1, 1}, /* even kernels, stride 1 */
    {1, 2, 8, 7, 3, 3, 2, 1, 2, 1, 1, 1, 0, 0, 0, 0, "VALID", 1, 1},      /* VALID */
    {3, 5, 40, 41, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1},       /* several column tiles */
    {2, 8, 6, 5, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1},       /* output-channel blocks */
    {1, 1, 12, 12, 6, 5, 5, 1, 1, 1, 1, 1, 0, 0, 0, 0, NULL, 1, 1},       /* one input channel */
    {1, 3, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 4, 4, 4, 4, NULL, 1, 1},         /* pads bigger than kernel */
    {2, 16, 9, 10, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1},      /* Winograd on AVX-512 (>= 16 ch) */
    {1, 32, 7, 7, 16, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, NULL, 1, 1},       /* Winograd, no padding */
};

static void test_conv_reference_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    run_case(&cases[i], 1);
    run_case(&cases[i], 2);
  }
}

/* ---------- hand-computed cases ---------- */

static void test_conv_hand(void **state) {
  (void)state;
  /* x = 1..9 (3x3), W = [[1,0],[0,-1]], b = 0.5: every output is x[i][j] - x[i+1][j+1] + 0.5 = -3.5 */
  float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 0, 0, -1}, b[1] = {0.5f};
  conv_case c = {1, 1, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0, NULL, 1, 1};
  int ni;
  adx_graph *g = build_conv(&c, w, b, &ni);
  adx_error err = {0};
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
  adx_tensor xt = {0}, yt = {0};
  int64_t xd[4] = {1, 1, 3, 3};
  adx_tensor_alloc(&xt, ADX_F32, 4, xd, NULL);
  memcpy(xt.data, x, sizeof x);
  assert_int_equal(run_node(g, ni, &xt, 1, &yt, &err), ADX_OK);
  for (int i = 0; i < 4; i++) assert_float_equal(adx_f32(&yt)[i], -3.5f, 0);
  adx_tensor_free(&yt);
  adx_graph_free(g);

  /* depthwise, 2 channels, 3x3 ones kernel with pad 1 on a 2x2 input: every output is the channel sum */
  float x2[8] = {1, 2, 3, 4, 10, 20, 30, 40}, w2[18], b2[2] = {0, -100};
  for (int i = 0; i < 18; i++) w2[i] = 1;
  conv_case c2 = {1, 2, 2, 2, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1};
  g = build_conv(&c2, w2, b2, &ni);
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
  adx_tensor_free(&xt);
  int64_t xd2[4] = {1, 2, 2, 2};
  adx_tensor_alloc(&xt, ADX_F32, 4, xd2, NULL);
  memcpy(xt.data, x2, sizeof x2);
  assert_int_equal(run_node(g, ni, &xt, 2, &yt, &err), ADX_OK);
  for (int i = 0; i < 4; i++) {
    assert_float_equal(adx_f32(&yt)[i], 10.0f, 0);
    assert_float_equal(adx_f32(&yt)[4 + i], 0.0f, 0);
  }
  adx_tensor_free(&xt);
  adx_tensor_free(&yt);
  adx_graph_free(g);
}

/* ---------- ONNX test data ---------- */

static const char *onnx_dir(void) {
  const char *d = getenv("ADX_ONNX_NODE_DATA");
  return d ? d : "/usr/share/libonnx-testdata/data/node";
}

static int load(const char *test, const char *file, adx_tensor *t) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/test_data_set_0/%s", onnx_dir(), test, file);
  adx_error err = {0};
  adx_status s = adx_tensor_load_pb(path, t, &err);
  if (s) print_message("%s\n", err.msg);
  return s == ADX_OK;
}

typedef struct onnx_conv {
  const char *name;
  int64_t pads[4], strides[2];
  const char *auto_pad;
} onnx_conv;

static void test_conv_onnx(void **state) {
  (void)state;
  /* attributes read from each model.onnx */
  static const onnx_conv t[] = {
      {"test_basic_conv_with_padding", {1, 1, 1, 1}, {1, 1}, NULL},
      {"test_basic_conv_without_padding", {0, 0, 0, 0}, {1, 1}, NULL},
      {"test_conv_with_autopad_same", {0, 0, 0, 0}, {2, 2}, "SAME_LOWER"},
      {"test_conv_with_strides_and_asymmetric_padding", {1, 0, 1, 0}, {2, 2}, NULL},
      {"test_conv_with_strides_no_padding", {0, 0, 0, 0}, {2, 2}, NULL},
      {"test_conv_with_strides_padding", {1, 1, 1, 1}, {2, 2}, NULL},
  };
  char probe[1024];
  snprintf(probe, sizeof probe, "%s/%s", onnx_dir(), t[0].name);
  FILE *f = fopen(probe, "r");
  if (!f) {
    print_message("ONNX test data not found at %s\n", onnx_dir());
    skip();
  }
  fclose(f);
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    adx_tensor x = {0}, w = {0}, want = {0}, y = {0};
    assert_true(load(t[i].name, "input_0.pb", &x));
    assert_true(load(t[i].name, "input_1.pb", &w));
    assert_true(load(t[i].name, "output_0.pb", &want));
    adx_graph *g = adx_graph_new();
    int in[2] = {add_input(g, "x", x.ndim, x.dims), add_const(g, "W", w.ndim, w.dims, adx_f32(&w))};
    int out[1] = {adx_graph_value(g, "y")};
    adx_attr *at = calloc(3, sizeof *at);
    int64_t ks[2] = {3, 3};
    at[0] = tu_attr_ints("kernel_shape", 2, ks);
    at[1] = tu_attr_ints("strides", 2, t[i].strides);
    at[2] = t[i].auto_pad ? tu_attr_str("auto_pad", t[i].auto_pad) : tu_attr_ints("pads", 4, t[i].pads);
    int ni = adx_graph_add_node(g, t[i].name, "Conv", 2, in, 1, out, 3, at);
    adx_error err = {0};
    if (g->nodes[ni].op->infer(g, &g->nodes[ni], &err)) fail_msg("%s: %s", t[i].name, err.msg);
    const adx_value *yv = &g->values[out[0]];
    assert_int_equal(yv->ndim, want.ndim);
    for (int k = 0; k < want.ndim; k++) assert_int_equal(yv->dims[k], want.dims[k]);
    assert_int_equal(run_node(g, ni, &x, 2, &y, &err), ADX_OK);
    check_close(adx_f32(&y), adx_f32(&want), (size_t)adx_tensor_numel(&want), 1e-5);
    adx_tensor_free(&x);
    adx_tensor_free(&w);
    adx_tensor_free(&want);
    adx_tensor_free(&y);
    adx_graph_free(g);
  }
}

/* ---------- fused activations ---------- */

static void act_case(const char *op, int nattr, adx_attr *attrs, const float *bounds, int use_graph, float lo,
                     float hi, float alpha, int kind) {
  conv_case c = {2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1};
  size_t xn = 2 * 3 * 49, wn = 4 * 3 * 9;
  float *x = rand_buf(xn), *w = rand_buf(wn), *b = rand_buf(4);
  for (size_t i = 0; i < wn; i++) w[i] *= 3; /* spread outputs past the clip bounds */
  int ni;
  adx_graph *g = build_conv(&c, w, b, &ni);
  int av = adx_graph_value(g, "act_in"), ao = adx_graph_value(g, "act_out");
  int ain[3] = {av, -1, -1}, nin = 1;
  if (bounds) { /* opset >= 11: bounds are constant inputs */
    int64_t sd[1] = {0};
    ain[1] = add_const(g, "lo", 0, sd, &bounds[0]);
    ain[2] = add_const(g, "hi", 0, sd, &bounds[1]);
    nin = 3;
  }
  int an = adx_graph_add_node(g, "act", op, nin, ain, 1, &ao, nattr, attrs);
  adx_error err = {0};
  adx_status s = use_graph ? adx_conv_fuse_activation_graph(g, &g->nodes[ni], &g->nodes[an], &err)
                           : adx_conv_fuse_activation(&g->nodes[ni], &g->nodes[an], &err);
  if (kind < 0) { /* not fusable */
    assert_int_equal(s, ADX_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "act"));
  } else {
    if (s) fail_msg("fuse: %s", err.msg);
    /* fusing before infer, then inferring twice (batch change): the activation must survive */
    assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
    assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
    const adx_conv_params *p = adx_conv_params_of(&g->nodes[ni]);
    assert_non_null(p);
    assert_int_equal(p->act.kind, kind);
    adx_tensor xt = {0}, yt = {0};
    int64_t xd[4] = {2, 3, 7, 7};
    adx_tensor_alloc(&xt, ADX_F32, 4, xd, NULL);
    memcpy(xt.data, x, sizeof(float) * xn);
    assert_int_equal(run_node(g, ni, &xt, 2, &yt, &err), ADX_OK);
    size_t yn = 2 * 4 * 49;
    float *want = malloc(sizeof(float) * yn);
    ref_conv(&c, x, w, b, want, 7, 7);
    int below = 0, above = 0;
    for (size_t i = 0; i < yn; i++) {
      float v = want[i];
      if (kind == ADX_ACT_RELU) v = v < 0 ? 0 : v;
      if (kind == ADX_ACT_CLIP) {
        below += v < lo;
        above += v > hi;
        v = v < lo ? lo : (v > hi ? hi : v);
      }
      if (kind == ADX_ACT_LEAKYRELU) v = v < 0 ? v * alpha : v;
      want[i] = v;
    }
    if (kind == ADX_ACT_CLIP) assert_true(below > 0 && above > 0); /* the case exercises both bounds */
    check_close(adx_f32(&yt), want, yn, 1e-5);
    /* a second activation cannot be fused on top */
    assert_int_equal(adx_conv_fuse_activation(&g->nodes[ni], &g->nodes[an], &err), ADX_ERR_UNSUPPORTED);
    free(want);
    adx_tensor_free(&xt);
    adx_tensor_free(&yt);
  }
  adx_graph_free(g);
  free(x);
  free(w);
  free(b);
}

static void test_conv_fused_activation(void **state) {
  (void)state;
  act_case("Relu", 0, NULL, NULL, 0, 0, 0, 0, ADX_ACT_RELU);
  adx_attr *at = calloc(2, sizeof *at);
  at[0] = tu_attr_float("min", -0.5f);
  at[1] = tu_attr_float("max", 1.5f);
  act_case("Clip", 2, at, NULL, 0, -0.5f, 1.5f, 0, ADX_ACT_CLIP);
  float bounds[2] = {0.0f, 2.0f};
  act_case("Clip", 0, NULL, bounds, 1, 0.0f, 2.0f, 0, ADX_ACT_CLIP);
  at = calloc(1, sizeof *at);
  at[0] = tu_attr_float("alpha", 0.1f);
  act_case("LeakyRelu", 1, at, NULL, 0, 0, 0, 0.1f, ADX_ACT_LEAKYRELU);
  act_case("Sigmoid", 0, NULL, NULL, 0, 0, 0, 0, -1);
  /* Clip with input bounds cannot be fused without the graph */
  act_case("Clip", 0, NULL, bounds, 0, 0, 0, 0, -1);
  /* Relu through the graph entry point too */
  act_case("Relu", 0, NULL, NULL, 1, 0, 0, 0, ADX_ACT_RELU);
}

/* ---------- errors ---------- */

static adx_status infer_err(int xnd, const int64_t *xd, int wnd, const int64_t *wd, int wconst, int nattr,
                            adx_attr *at, adx_error *err) {
  adx_graph *g = adx_graph_new();
  int64_t wn = 1;
  for (int i = 0; i < wnd; i++) wn *= wd[i];
  float *w = calloc((size_t)wn, sizeof(float));
  int in[2] = {add_input(g, "x", xnd, xd),
               wconst ? add_const(g, "W", wnd, wd, w) : add_input(g, "W", wnd, wd)};
  int out[1] = {adx_graph_value(g, "y")};
  int ni = adx_graph_add_node(g, "bad_conv", "Conv", 2, in, 1, out, nattr, at);
  adx_status s = g->nodes[ni].op->infer(g, &g->nodes[ni], err);
  adx_graph_free(g);
  free(w);
  return s;
}

static void test_conv_errors(void **state) {
  (void)state;
  adx_error err = {0};
  int64_t x1[3] = {1, 1, 10}, w1[3] = {1, 1, 3};
  assert_int_equal(infer_err(3, x1, 3, w1, 1, 0, NULL, &err), ADX_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "bad_conv"));
  int64_t x3[5] = {1, 1, 4, 4, 4}, w3[5] = {1, 1, 2, 2, 2};
  assert_int_equal(infer_err(5, x3, 5, w3, 1, 0, NULL, &err), ADX_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "bad_conv"));
  int64_t x[4] = {1, 3, 8, 8}, w[4] = {2, 1, 3, 3};
  assert_int_equal(infer_err(4, x, 4, w, 1, 0, NULL, &err), ADX_ERR_SHAPE);
  assert_non_null(strstr(err.msg, "input has 3 channels but weight expects 1"));
  assert_non_null(strstr(err.msg, "bad_conv"));
  int64_t wok[4] = {2, 3, 3, 3};
  assert_int_equal(infer_err(4, x, 4, wok, 0, 0, NULL, &err), ADX_ERR_UNSUPPORTED); /* W not constant */
  assert_non_null(strstr(err.msg, "constant"));
  adx_attr *at = calloc(1, sizeof *at);
  int64_t ks[2] = {5, 5};
  at[0] = tu_attr_ints("kernel_shape", 2, ks);
  assert_int_equal(infer_err(4, x, 4, wok, 1, 1, at, &err), ADX_ERR_SHAPE);
  assert_non_null(strstr(err.msg, "kernel_shape"));
  int64_t wbig[4] = {2, 3, 9, 9};
  assert_int_equal(infer_err(4, x, 4, wbig, 1, 0, NULL, &err), ADX_ERR_SHAPE);
  at = calloc(1, sizeof *at);
  at[0] = tu_attr_int("group", 2);
  assert_int_equal(infer_err(4, x, 4, wok, 1, 1, at, &err), ADX_ERR_SHAPE); /* 3 channels, group 2 */
  at = calloc(1, sizeof *at);
  at[0] = tu_attr_str("auto_pad", "SAME_SIDEWAYS");
  assert_int_equal(infer_err(4, x, 4, wok, 1, 1, at, &err), ADX_ERR_UNSUPPORTED);
  at = calloc(1, sizeof *at);
  int64_t st0[2] = {0, 1};
  at[0] = tu_attr_ints("strides", 2, st0);
  assert_int_equal(infer_err(4, x, 4, wok, 1, 1, at, &err), ADX_ERR_FORMAT);

  /* bias of the wrong size */
  adx_graph *g = adx_graph_new();
  float wz[54] = {0}, bz[3] = {0};
  int64_t bd[1] = {3};
  int in[3] = {add_input(g, "x", 4, x), add_const(g, "W", 4, wok, wz), add_const(g, "B", 1, bd, bz)};
  int out[1] = {adx_graph_value(g, "y")};
  int ni = adx_graph_add_node(g, "bias_conv", "Conv", 3, in, 1, out, 0, NULL);
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_ERR_SHAPE);
  assert_non_null(strstr(err.msg, "bias"));
  adx_graph_free(g);
}

/* ---------- op metadata ---------- */

static void test_conv_metadata(void **state) {
  (void)state;
  conv_case c = {4, 6, 10, 12, 8, 3, 5, 2, 2, 1, 1, 2, 1, 2, 1, 2, NULL, 1, 1};
  float *w = rand_buf(8 * 3 * 15), *b = rand_buf(8);
  int ni;
  adx_graph *g = build_conv(&c, w, b, &ni);
  adx_error err = {0};
  adx_node *n = &g->nodes[ni];
  assert_int_equal(n->op->infer(g, n, &err), ADX_OK);
  /* OH = (10+2-3)/2+1 = 5, OW = (12+4-9)/1+1 = 8 */
  const adx_value *yv = &g->values[n->out[0]];
  assert_int_equal(yv->dims[2], 5);
  assert_int_equal(yv->dims[3], 8);
  assert_true(n->op->flops(g, n) == 2.0 * 4 * 8 * 5 * 8 * 3 * 3 * 5);
  assert_int_equal(n->op->ad, ADX_AD_CONV);
  adx_window win;
  n->op->window(n, &win);
  assert_int_equal(win.kh, 3);
  assert_int_equal(win.kw, 5);
  assert_int_equal(win.sh, 2);
  assert_int_equal(win.sw, 1);
  assert_int_equal(win.dh, 1);
  assert_int_equal(win.dw, 2);
  assert_int_equal(win.ph0, 1);
  assert_int_equal(win.pw0, 2);
  assert_int_equal(win.ph1, 1);
  assert_int_equal(win.pw1, 2);
  assert_true(n->op->scratch(g, n, 2) >= 2 * adx_conv_scratch_floats(adx_conv_params_of(n)) * sizeof(float));
  adx_graph_free(g);
  free(w);
  free(b);

  /* window geometry helper, against hand-worked ONNX formulas */
  int p0 = 0, p1 = 0;
  assert_int_equal(adx_window_out_size(5, 3, 2, 1, ADX_PAD_SAME_UPPER, 0, &p0, &p1), 3);
  assert_int_equal(p0, 1);
  assert_int_equal(p1, 1);
  assert_int_equal(adx_window_out_size(6, 3, 2, 1, ADX_PAD_SAME_UPPER, 0, &p0, &p1), 3);
  assert_int_equal(p0, 0);
  assert_int_equal(p1, 1);
  assert_int_equal(adx_window_out_size(6, 3, 2, 1, ADX_PAD_SAME_LOWER, 0, &p0, &p1), 3);
  assert_int_equal(p0, 1);
  assert_int_equal(p1, 0);
  p0 = 0, p1 = 0;
  assert_int_equal(adx_window_out_size(4, 3, 2, 1, ADX_PAD_NOTSET, 1, &p0, &p1), 2); /* ceil((4-3)/2)+1 */
  assert_int_equal(adx_window_out_size(4, 3, 2, 1, ADX_PAD_NOTSET, 0, &p0, &p1), 1);
  p0 = 1, p1 = 1;
  /* in=5, k=2, s=2, pads 1,1: ceil((5+2-2)/2)+1 = 4, but the 4th window would start at 3*2-1 = 5, past the
   * input: dropped (PyTorch/ONNX rule) */
  assert_int_equal(adx_window_out_size(5, 2, 2, 1, ADX_PAD_NOTSET, 1, &p0, &p1), 3);
  p0 = 1, p1 = 2;
  /* in=6, k=3, s=2, pads 1,2: ceil((6+3-3)/2)+1 = 4, the 4th window starts at 6-1 = 5 < 6: kept */
  assert_int_equal(adx_window_out_size(6, 3, 2, 1, ADX_PAD_NOTSET, 1, &p0, &p1), 4);
  p0 = 0, p1 = 1;
  /* in=4, k=2, s=2, pad end 1: span 3 -> ceil gives 3 windows, the 3rd starts at 4 = in: dropped */
  assert_int_equal(adx_window_out_size(4, 2, 2, 1, ADX_PAD_NOTSET, 1, &p0, &p1), 2);
  p0 = 0, p1 = 0;
  assert_int_equal(adx_window_out_size(7, 3, 1, 3, ADX_PAD_VALID, 0, &p0, &p1), 1); /* extent 7 */
}

/* ---------- AD active positions ---------- */

static const conv_case ad_cases[] = {
    {1, 5, 17, 19, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1}, /* im2col, two tiles */
    {1, 6, 9, 9, 12, 3, 3, 6, 2, 1, 1, 1, 1, 0, 1, 2, NULL, 1, 1},  /* depthwise x2 */
    {1, 8, 12, 12, 5, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, NULL, 1, 1}, /* 1x1 direct */
    {1, 4, 10, 10, 6, 3, 3, 2, 1, 1, 2, 2, 2, 2, 2, 2, NULL, 0, 1}, /* grouped, dilated */
    {1, 8, 5, 6, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1}, /* channel blocks */
};

static void test_conv_active(void **state) {
  (void)state;
  for (size_t ci = 0; ci < sizeof ad_cases / sizeof ad_cases[0]; ci++) {
    const conv_case *c = &ad_cases[ci];
    size_t xn = (size_t)c->C * c->H * c->W, wn = (size_t)c->M * (c->C / c->group) * c->kh * c->kw;
    float *x = rand_buf(xn), *w = rand_buf(wn), *b = rand_buf((size_t)c->M);
    int ni;
    adx_graph *g = build_conv(c, w, b, &ni);
    adx_error err = {0};
    assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
    const adx_conv_params *p = adx_conv_params_of(&g->nodes[ni]);
    int ohw = p->OH * p->OW;
    size_t yn = (size_t)p->M * ohw;
    float *scr = malloc(sizeof(float) * (adx_conv_scratch_floats(p) + 1));
    float *full = malloc(sizeof(float) * yn), *part = malloc(sizeof(float) * yn);
    adx_conv_run_sample(p, x, full, NULL, -1, scr);
    /* the plain per-sample path against the reference */
    float *want = malloc(sizeof(float) * yn);
    conv_case c1 = *c;
    c1.N = 1;
    ref_conv(&c1, x, w, c->bias ? b : NULL, want, p->OH, p->OW);
    check_close(full, want, yn, 1e-5);
    int32_t *act = malloc(sizeof(int32_t) * (size_t)ohw);
    for (int trial = 0; trial < 4; trial++) {
      int na = 0;
      for (int i = 0; i < ohw; i++) {
        int keep = trial == 0   ? (i % 3 == 0)
                   : trial == 1 ? (i < 7 || i == ohw - 1)
                   : trial == 2 ? 0
                                : (frand() > 0);
        if (keep) act[na++] = i;
      }
      for (size_t i = 0; i < yn; i++) part[i] = NAN; /* every position must be written */
      adx_conv_run_sample(p, x, part, act, na, scr);
      int k = 0;
      for (int pos = 0; pos < ohw; pos++) {
        int on = k < na && act[k] == pos;
        k += on;
        for (int m = 0; m < p->M; m++) {
          float v = part[(size_t)m * ohw + pos], f = full[(size_t)m * ohw + pos];
          if (on) {
            if (!(fabsf(v - f) <= 1e-5f * (1 + fabsf(f))))
              fail_msg("case %zu trial %d pos %d ch %d: %g vs %g", ci, trial, pos, m, v, f);
          } else if (v != 0.0f || signbit(v)) {
            fail_msg("case %zu trial %d: inactive pos %d ch %d is %g", ci, trial, pos, m, v);
          }
        }
      }
    }
    /* all positions listed: the plain path, bit for bit */
    for (int i = 0; i < ohw; i++) act[i] = i;
    adx_conv_run_sample(p, x, part, act, ohw, scr);
    assert_memory_equal(part, full, sizeof(float) * yn);
    /* tasks run in reverse order give the same result (they are independent) */
    for (int trial = 0; trial < 2; trial++) {
      int na = 0;
      for (int i = 0; i < ohw; i++)
        if (trial == 1 || i % 2) act[na++] = i;
      float *fwd = malloc(sizeof(float) * yn);
      adx_conv_run_sample(p, x, fwd, trial ? NULL : act, na, scr);
      int nt = adx_conv_ntasks(p, trial ? -1 : na);
      for (size_t i = 0; i < yn; i++) part[i] = NAN;
      for (int t = nt - 1; t >= 0; t--) adx_conv_run_task(p, x, part, trial ? NULL : act, na, t, scr);
      assert_memory_equal(part, fwd, sizeof(float) * yn);
      free(fwd);
    }
    free(act);
    free(want);
    free(full);
    free(part);
    free(scr);
    adx_graph_free(g);
    free(x);
    free(w);
    free(b);
  }
}

/* ---------- bit-exactness across batch composition and threads ---------- */

static const conv_case bx_cases[] = {
    {5, 16, 20, 20, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1}, /* 2 column tiles */
    {5, 8, 15, 15, 8, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1},   /* depthwise */
    {5, 32, 14, 14, 24, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, NULL, 1, 1}, /* 1x1 direct */
    {5, 16, 7, 7, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1},  /* channel blocks */
    {5, 8, 16, 16, 8, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, NULL, 1, 1},   /* grouped, strided */
};

static void test_conv_bitexact(void **state) {
  (void)state;
  for (size_t ci = 0; ci < sizeof bx_cases / sizeof bx_cases[0]; ci++) {
    const conv_case *c = &bx_cases[ci];
    size_t xs = (size_t)c->C * c->H * c->W, wn = (size_t)c->M * (c->C / c->group) * c->kh * c->kw;
    float *x = rand_buf(xs * 5), *w = rand_buf(wn), *b = rand_buf((size_t)c->M);
    int ni;
    adx_graph *g = build_conv(c, w, b, &ni);
    adx_error err = {0};
    adx_node *n = &g->nodes[ni];
    assert_int_equal(n->op->infer(g, n, &err), ADX_OK);
    adx_tensor xt = {0}, y1 = {0}, y2 = {0};
    int64_t xd[4] = {5, c->C, c->H, c->W};
    adx_tensor_alloc(&xt, ADX_F32, 4, xd, NULL);
    memcpy(xt.data, x, sizeof(float) * xs * 5);
    assert_int_equal(run_node(g, ni, &xt, 1, &y1, &err), ADX_OK);
    assert_int_equal(run_node(g, ni, &xt, 2, &y2, &err), ADX_OK);
    size_t ys = (size_t)adx_tensor_numel(&y1) / 5;
    assert_memory_equal(y1.data, y2.data, sizeof(float) * ys * 5);
    /* each sample alone, at batch 1 (re-inferred), must match its slot in the batch of 5 */
    g->values[n->in[0]].dims[0] = 1;
    assert_int_equal(n->op->infer(g, n, &err), ADX_OK);
    for (int s = 0; s < 5; s++) {
      adx_tensor x1 = {0}, y = {0};
      int64_t d1[4] = {1, c->C, c->H, c->W};
      adx_tensor_alloc(&x1, ADX_F32, 4, d1, NULL);
      memcpy(x1.data, x + s * xs, sizeof(float) * xs);
      assert_int_equal(run_node(g, ni, &x1, 1 + (s & 1), &y, &err), ADX_OK);
      assert_memory_equal(y.data, adx_f32(&y1) + s * ys, sizeof(float) * ys);
      adx_tensor_free(&x1);
      adx_tensor_free(&y);
    }
    adx_tensor_free(&xt);
    adx_tensor_free(&y1);
    adx_tensor_free(&y2);
    adx_graph_free(g);
    free(x);
    free(w);
    free(b);
  }
}

/* ---------- which kernel the oneDNN path picks ---------- */

/* The implementation oneDNN picked for case c's layer, under the current ADX_CONV. */
static void impl_of(const conv_case *c, char *out, size_t n) {
  int Cg = c->C / c->group;
  float *w = rand_buf((size_t)c->M * Cg * c->kh * c->kw), *b = rand_buf((size_t)c->M);
  int ni;
  adx_graph *g = build_conv(c, w, b, &ni);
  adx_error err = {0};
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
  const adx_conv_lib *l = NULL;
  if (adx_conv_lib_of(&g->nodes[ni], 0, 1, &l, &err)) fail_msg("oneDNN: %s", err.msg);
  snprintf(out, n, "%s", adx_conv_lib_impl(l));
  adx_graph_free(g);
  free(w);
  free(b);
}

/* The default path takes Winograd for a 3x3 stride-1 layer of 16 or more input channels on a CPU where
 * oneDNN 2.6 has it (AVX-512: its f32 Winograd kernels are avx512_core only), so
 * test_conv_reference_cases (oneDNN) above really compares those kernels with the double-precision
 * reference; ADX_CONV=dnnl-direct never takes them, and neither does a strided or a 1-channel layer. */
static void test_conv_winograd_choice(void **state) {
  (void)state;
  const conv_case c3 = {1, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1};
  const conv_case s2 = {1, 16, 28, 28, 16, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, NULL, 1, 1};
  const conv_case c1 = {1, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, 1};
  char impl[128];
  /* the ISA values are bit sets: avx512_core and everything above it contain its bits, avx2_vnni not */
  int avx512 = (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
  save_conv_env();
  unsetenv("ADX_CONV");
  impl_of(&c3, impl, sizeof impl);
  printf("     3x3 stride 1, default: %s\n", impl);
  if (avx512 && !strstr(impl, "wino"))
    fail_msg("AVX-512 CPU, 3x3 stride-1 layer took '%s', not Winograd", impl);
  impl_of(&s2, impl, sizeof impl);
  if (strstr(impl, "wino")) fail_msg("stride-2 layer took Winograd ('%s')", impl);
  impl_of(&c1, impl, sizeof impl);
  if (strstr(impl, "wino")) fail_msg("1-channel layer took Winograd ('%s')", impl);
  setenv("ADX_CONV", "dnnl-direct", 1);
  impl_of(&c3, impl, sizeof impl);
  printf("     3x3 stride 1, ADX_CONV=dnnl-direct: %s\n", impl);
  restore_conv_env();
  if (strstr(impl, "wino")) fail_msg("ADX_CONV=dnnl-direct took Winograd ('%s')", impl);
}

/* ---------- output crops (adx_conv_lib_sample_band: AD's deactivated work skipped) ----------
 * A crop's primitive reads an input crop with the layer's zero padding written out, so every output it
 * computes must be the full layer's value bit for bit (same kernel, same weights layout: conv_lib.c
 * refuses a crop shape otherwise); every position outside the crop must be 0. Checked on the kinds of
 * layer the fixtures have (Winograd 3x3, strided 3x3, strided 1x1, the 1-channel stem), a dilated 5x5 and
 * torchvision-sized layers (F(2,3) Winograd among them), for crops in the corners, the middle, thin strips,
 * single positions. */
typedef struct crop_layer {
  int C, H, M, k, s, pad, dil, relu;
} crop_layer;

static void check_crops(const crop_layer *c, int *used) {
  const int used0 = *used;
  adx_conv_params p;
  memset(&p, 0, sizeof p);
  p.C = c->C;
  p.H = p.W = c->H;
  p.M = c->M;
  p.group = 1;
  p.win = (adx_window){c->k, c->k, c->s, c->s, c->pad, c->pad, c->pad, c->pad, c->dil, c->dil};
  if (c->relu) p.act.kind = ADX_ACT_RELU;
  assert_int_equal(adx_conv_plan(&p), 0);
  float *w = rand_buf((size_t)p.M * (size_t)p.C * (size_t)(c->k * c->k)), *b = rand_buf((size_t)p.M);
  p.w = w;
  p.b = b;
  adx_conv_lib *l = NULL;
  adx_error err = {0};
  if (adx_conv_lib_prepare(&l, &p, 0, 1, &err)) fail_msg("oneDNN: %s", err.msg);
  int xb, yb;
  adx_conv_lib_blocked(l, &xb, &yb);
  size_t xs = (size_t)p.C * (size_t)p.H * (size_t)p.W, ys = (size_t)p.M * (size_t)p.OH * (size_t)p.OW;
  /* any buffer of random floats is a valid sample in the blocked layout too */
  float *x = rand_buf(xs), *full = malloc(sizeof(float) * ys), *y = malloc(sizeof(float) * ys);
  assert_int_equal(adx_conv_lib_sample_ex(l, 0, x, full, xb, yb), 0);
  const int K = yb ? adx_conv_lib_block() : 1, OH = p.OH, OW = p.OW;
  /* crops as fractions of the output: {r0, r1, c0, c1} in 1/8ths, then single positions */
  static const int fr[][4] = {{0, 2, 0, 2}, {6, 8, 6, 8}, {0, 8, 3, 4}, {3, 4, 0, 8}, {2, 5, 3, 6},
                              {0, 3, 5, 8}, {5, 8, 0, 3}, {1, 2, 6, 7}, {0, 1, 0, 8}, {4, 6, 4, 6}};
  int n = (int)(sizeof fr / sizeof *fr) + 3;
  for (int t = 0; t < n; t++) {
    int r0, r1, c0, c1;
    if (t < (int)(sizeof fr / sizeof *fr)) {
      r0 = fr[t][0] * OH / 8, r1 = fr[t][1] * OH / 8, c0 = fr[t][2] * OW / 8, c1 = fr[t][3] * OW / 8;
      if (r1 <= r0) r1 = r0 + 1;
      if (c1 <= c0) c1 = c0 + 1;
    } else { /* one position: top left, bottom right, the middle */
      r0 = t == n - 3 ? 0 : t == n - 2 ? OH - 1 : OH / 2;
      c0 = t == n - 3 ? 0 : t == n - 2 ? OW - 1 : OW / 2;
      r1 = r0 + 1, c1 = c0 + 1;
    }
    for (size_t i = 0; i < ys; i++) y[i] = NAN; /* everything must be written */
    /* every third crop with a keep mask: a checkerboard of kept positions */
    uint8_t *keep = NULL;
    if (t % 3 == 2) {
      keep = malloc((size_t)OH * (size_t)OW);
      for (int i = 0; i < OH * OW; i++) keep[i] = (uint8_t)((i / OW + i % OW) % 2);
    }
    int r = adx_conv_lib_sample_band(l, 0, x, y, xb, yb, keep, NULL, r0, r1, c0, c1);
    assert_true(r == 0 || r == 1);
    if (r) {
      free(keep);
      continue;
    }
    (*used)++;
    for (int m = 0; m < p.M; m++)
      for (int i = 0; i < OH; i++)
        for (int j = 0; j < OW; j++) {
          size_t at = (((size_t)(m / K) * (size_t)OH + (size_t)i) * (size_t)OW + (size_t)j) * (size_t)K +
                      (size_t)(m % K);
          int in = i >= r0 && i < r1 && j >= c0 && j < c1;
          uint32_t a, e;
          memcpy(&a, &y[at], 4);
          memcpy(&e, &full[at], 4);
          if (keep && !keep[i * OW + j]) {
            if (a != 0) fail_msg("crop with a keep mask: (%d,%d) not kept but %.9g", i, j, (double)y[at]);
            continue;
          }
          if (in && a != e)
            fail_msg(
                "C%d %dx%d k%d s%d d%d: crop [%d,%d)x[%d,%d), channel %d at (%d,%d): %.9g, full layer %.9g",
                c->C, c->H, c->H, c->k, c->s, c->dil, r0, r1, c0, c1, m, i, j, (double)y[at],
                (double)full[at]);
          if (!in && a != e && y[at] != 0.0f)
            fail_msg("C%d k%d: outside the crop [%d,%d)x[%d,%d), (%d,%d) is %.9g, neither 0 nor the layer's",
                     c->C, c->k, r0, r1, c0, c1, i, j, (double)y[at]);
        }
    free(keep);
  }
  /* oneDNN's F(2,3) Winograd blocks its weights by the crop's size: its crops run with the weights in
   * their own layout, and every crop here must be used (and so have passed the bits above) */
  if (strstr(adx_conv_lib_impl(l), "wino_2x3") && *used - used0 < n - 1)
    fail_msg("C%d %dx%d (%s): only %d of %d crops used", c->C, c->H, c->H, adx_conv_lib_impl(l),
             *used - used0, n);
  adx_conv_lib_free(l);
  free(x);
  free(full);
  free(y);
  free(w);
  free(b);
}

static void test_conv_crops(void **state) {
  (void)state;
  static const crop_layer layers[] = {
      {16, 28, 16, 3, 1, 1, 1, 1},   /* Winograd (AVX-512), ReLU fused */
      {32, 14, 32, 3, 1, 1, 1, 0},   /* Winograd, odd tile count */
      {64, 7, 64, 3, 1, 1, 1, 1},    /* Winograd on a map of 7 */
      {16, 28, 32, 3, 2, 1, 1, 1},   /* direct, strided */
      {16, 28, 32, 1, 2, 0, 1, 0},   /* 1x1, strided (the ResNet downsample) */
      {1, 28, 16, 3, 1, 1, 1, 1},    /* the 1-channel stem: plain NCHW input */
      {16, 20, 16, 5, 1, 4, 2, 0},   /* dilated 5x5 */
      {3, 224, 64, 7, 2, 3, 1, 1},   /* torchvision ResNet stem (RGB, plain input) */
      {3, 224, 32, 3, 2, 1, 1, 0},   /* MobileNet stem */
      {3, 224, 64, 3, 1, 1, 1, 1},   /* VGG's first layer */
      {64, 56, 64, 3, 1, 1, 1, 1},   /* ResNet-18 stage 1 */
      {128, 28, 256, 3, 2, 1, 1, 0}, /* a strided stage entry */
      {256, 14, 256, 3, 1, 1, 1, 1}, /* ResNet-18 stage 3: F(2,3) Winograd on AVX-512 */
  };
  int used = 0;
  /* under valgrind (oneDNN's JIT emulated: minutes) the Fashion-sized layers only */
  size_t nl = getenv("ADX_VALGRIND") ? 7 : sizeof layers / sizeof *layers;
  for (size_t i = 0; i < nl; i++) {
    int before = used;
    check_crops(&layers[i], &used);
    printf("     crop layer %zu (C%d %dx%d k%d s%d): %d crops used\n", i, layers[i].C, layers[i].H,
           layers[i].H, layers[i].k, layers[i].s, used - before);
  }
  assert_true(used > 20); /* else the test proves nothing */
}

/* ---------- benchmark entry point (tiny, just that it measures) ---------- */

static void test_conv_bench(void **state) {
  (void)state;
  adx_conv_params p;
  memset(&p, 0, sizeof p);
  p.C = 8;
  p.H = p.W = 12;
  p.M = 16;
  p.group = 1;
  p.win = (adx_window){3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  assert_int_equal(adx_conv_plan(&p), 0);
  assert_int_equal(p.OH, 12);
  assert_int_equal(p.K, 72);
  double sg = 0, gf = adx_conv_bench_gflops(&p, 2, 2, 0.01, &sg);
  assert_true(gf > 0);
  assert_true(sg > 0);
  p.C = 7; /* not divisible by the group: invalid */
  p.group = 2;
  assert_int_equal(adx_conv_plan(&p), -1);
}

/* The same test through oneDNN, named so in the report. */
#define LIB_TEST(f)                                                                                          \
  { #f " (oneDNN)", f, setup_lib, NULL, NULL }

int main(void) {
  adx_threads_set(2);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_conv_hand, setup_blas),
      cmocka_unit_test_setup(test_conv_reference_cases, setup_blas),
      cmocka_unit_test_setup(test_conv_onnx, setup_blas),
      cmocka_unit_test_setup(test_conv_fused_activation, setup_blas),
      cmocka_unit_test_setup(test_conv_bitexact, setup_blas),
      LIB_TEST(test_conv_hand),
      LIB_TEST(test_conv_reference_cases),
      LIB_TEST(test_conv_onnx),
      LIB_TEST(test_conv_fused_activation),
      LIB_TEST(test_conv_bitexact),
      {"test_conv_reference_cases (oneDNN direct)", test_conv_reference_cases, setup_lib_direct, teardown_env,
       NULL},
      {"test_conv_bitexact (oneDNN direct)", test_conv_bitexact, setup_lib_direct, teardown_env, NULL},
      cmocka_unit_test(test_conv_winograd_choice),
      cmocka_unit_test(test_conv_errors),
      cmocka_unit_test(test_conv_metadata),
      cmocka_unit_test(test_conv_active),
      cmocka_unit_test(test_conv_bench),
      cmocka_unit_test(test_conv_crops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
