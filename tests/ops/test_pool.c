/* Pooling: ONNX test data, an independent naive reference (its ceil_mode / count_include_pad semantics
 * were checked against PyTorch's max_pool2d / avg_pool2d), hand-computed cases, errors, the AD
 * active-position path, and the global pools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ops/conv.h"
#include "adx/ir.h"
#include "adx/model.h"
#include "common/attr.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static float frand(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((double)(rng_state >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

typedef struct pool_case {
  const char *op; /* "MaxPool" / "AveragePool" */
  int N, C, H, W, kh, kw, sh, sw, dh, dw;
  int pt, pl, pb, pr;
  const char *auto_pad; /* NULL: explicit pads */
  int ceil_mode, cip;
} pool_case;

/* Graph with one pooling node over input "x" of dims xd. */
static adx_graph *build_pool(const pool_case *c, int nd, const int64_t *xd, int *ni) {
  adx_graph *g = adx_graph_new();
  int in[1] = {adx_graph_value(g, "x")};
  adx_value_set(&g->values[in[0]], ADX_F32, nd, xd, 1);
  g->values[in[0]].is_input = 1;
  int out[1] = {adx_graph_value(g, "y")};
  adx_attr *at = calloc(8, sizeof *at);
  int na = 0;
  if (c->kh) {
    int64_t k[2] = {c->kh, c->kw};
    at[na++] = tu_attr_ints("kernel_shape", 2, k);
  }
  if (c->sh) {
    int64_t s[2] = {c->sh, c->sw};
    at[na++] = tu_attr_ints("strides", 2, s);
  }
  if (c->dh) {
    int64_t d[2] = {c->dh, c->dw};
    at[na++] = tu_attr_ints("dilations", 2, d);
  }
  if (c->auto_pad) {
    at[na++] = tu_attr_str("auto_pad", c->auto_pad);
  } else if (c->pt || c->pl || c->pb || c->pr) {
    int64_t p[4] = {c->pt, c->pl, c->pb, c->pr};
    at[na++] = tu_attr_ints("pads", 4, p);
  }
  if (c->ceil_mode) at[na++] = tu_attr_int("ceil_mode", 1);
  if (c->cip) at[na++] = tu_attr_int("count_include_pad", 1);
  *ni = adx_graph_add_node(g, "pool_under_test", c->op, 1, in, 1, out, na, at);
  assert_true(*ni >= 0);
  assert_non_null(g->nodes[*ni].op);
  return g;
}

static adx_status run_node(adx_graph *g, int ni, const adx_tensor *x, int threads, adx_tensor *y,
                           adx_error *err) {
  adx_node *n = &g->nodes[ni];
  const adx_tensor *in[1] = {x};
  adx_value *ov = &g->values[n->out[0]];
  assert_int_equal(adx_tensor_alloc(y, ADX_F32, ov->ndim, ov->dims, NULL), ADX_OK);
  size_t sb = n->op->scratch ? n->op->scratch(g, n, threads) : 0;
  void *scr = sb ? adx_alloc(sb) : NULL;
  adx_op_ctx ctx = {scr, sb, threads, 0, NULL};
  adx_tensor *outs[1] = {y};
  adx_status s = n->op->run(n, in, outs, &ctx, err);
  adx_free(scr);
  return s;
}

/* ---------- the naive reference ---------- */

static int ref_out(int in, int k, int s, int d, int p0, int p1, int ceil_mode) {
  int ek = (k - 1) * d + 1, span = in + p0 + p1 - ek;
  if (!ceil_mode) return span / s + 1;
  int o = (span + s - 1) / s + 1;
  if ((o - 1) * s >= in + p0) o--;
  return o;
}

static void ref_pool(const pool_case *c, const float *x, float *y, int OH, int OW) {
  int is_max = !strcmp(c->op, "MaxPool");
  for (int pl = 0; pl < c->N * c->C; pl++) {
    const float *xp = x + (size_t)pl * c->H * c->W;
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        double sum = 0, mx = -INFINITY;
        int valid = 0, in_padded = 0;
        for (int i = 0; i < c->kh; i++)
          for (int j = 0; j < c->kw; j++) {
            int ih = oh * c->sh - c->pt + i * c->dh, iw = ow * c->sw - c->pl + j * c->dw;
            if (ih < c->H + c->pb && iw < c->W + c->pr) in_padded++;
            if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
            valid++;
            sum += xp[ih * c->W + iw];
            if (xp[ih * c->W + iw] > mx) mx = xp[ih * c->W + iw];
          }
        y[((size_t)pl * OH + oh) * OW + ow] = (float)(is_max ? mx : sum / (c->cip ? in_padded : valid));
      }
  }
}

static void check_close(const float *got, const float *want, size_t n, double tol) {
  for (size_t i = 0; i < n; i++)
    if (!(fabs((double)got[i] - want[i]) <= tol * (1.0 + fabs(want[i]))))
      fail_msg("element %zu: got %.8g want %.8g", i, got[i], want[i]);
}

static void run_case(const pool_case *c, int threads) {
  int64_t xd[4] = {c->N, c->C, c->H, c->W};
  int ni;
  adx_graph *g = build_pool(c, 4, xd, &ni);
  adx_error err = {0};
  if (g->nodes[ni].op->infer(g, &g->nodes[ni], &err)) fail_msg("infer: %s", err.msg);
  int OH = ref_out(c->H, c->kh, c->sh, c->dh, c->pt, c->pb, c->ceil_mode);
  int OW = ref_out(c->W, c->kw, c->sw, c->dw, c->pl, c->pr, c->ceil_mode);
  const adx_value *yv = &g->values[g->nodes[ni].out[0]];
  assert_int_equal(yv->dims[0], c->N);
  assert_int_equal(yv->dims[1], c->C);
  assert_int_equal(yv->dims[2], OH);
  assert_int_equal(yv->dims[3], OW);
  assert_int_equal(yv->batched, 1);
  adx_tensor xt = {0}, yt = {0};
  adx_tensor_alloc(&xt, ADX_F32, 4, xd, NULL);
  size_t xn = (size_t)adx_tensor_numel(&xt);
  for (size_t i = 0; i < xn; i++) adx_f32(&xt)[i] = frand() - 2.0f; /* negative: pads must not act as 0 */
  assert_int_equal(run_node(g, ni, &xt, threads, &yt, &err), ADX_OK);
  size_t yn = (size_t)c->N * c->C * OH * OW;
  float *want = malloc(sizeof(float) * yn);
  ref_pool(c, adx_f32(&xt), want, OH, OW);
  check_close(adx_f32(&yt), want, yn, 1e-6);

  /* AD path: active positions bit-identical to the full path, the rest exactly 0 */
  const adx_pool_params *p = adx_pool_params_of(&g->nodes[ni]);
  assert_non_null(p);
  int ohw = OH * OW;
  int32_t *act = malloc(sizeof(int32_t) * (size_t)ohw);
  int na = 0;
  for (int i = 0; i < ohw; i++)
    if (i % 3 != 1) act[na++] = i;
  size_t ys = (size_t)c->C * ohw;
  float *part = malloc(sizeof(float) * ys);
  for (size_t i = 0; i < ys; i++) part[i] = NAN;
  if (p->is_max)
    adx_maxpool_run_sample(p, adx_f32(&xt), part, act, na);
  else
    adx_avgpool_run_sample(p, adx_f32(&xt), part, act, na);
  for (int ch = 0; ch < c->C; ch++)
    for (int pos = 0; pos < ohw; pos++) {
      float v = part[(size_t)ch * ohw + pos], f = adx_f32(&yt)[(size_t)ch * ohw + pos];
      if (pos % 3 != 1)
        assert_memory_equal(&v, &f, sizeof v);
      else
        assert_true(v == 0.0f && !signbit(v));
    }
  free(part);
  free(act);
  free(want);
  adx_tensor_free(&xt);
  adx_tensor_free(&yt);
  adx_graph_free(g);
}

/*                        op          N  C  H   W  kh kw sh sw dh dw pt pl pb pr auto  ceil cip */
static const pool_case cases[] = {
    {"MaxPool", 2, 3, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, NULL, 0, 0},
    {"MaxPool", 1, 2, 8, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, NULL, 1, 0},
    {"MaxPool", 1, 2, 10, 9, 2, 3, 1, 2, 2, 2, 0, 1, 1, 0, NULL, 0, 0},
    {"MaxPool", 1, 2, 7, 7, 3, 3, 3, 3, 2, 2, 1, 0, 2, 1, NULL, 1, 0},
    {"MaxPool", 1, 1, 6, 7, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, "SAME_UPPER", 0, 0},
    {"MaxPool", 1, 1, 6, 7, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, "SAME_LOWER", 0, 0},
    {"AveragePool", 2, 3, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, NULL, 0, 0},
    {"AveragePool", 2, 3, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, NULL, 0, 1},
    {"AveragePool", 1, 2, 8, 7, 3, 3, 2, 2, 1, 1, 1, 0, 0, 1, NULL, 1, 0},
    {"AveragePool", 1, 2, 8, 7, 3, 3, 2, 2, 1, 1, 1, 0, 0, 1, NULL, 1, 1}, /* ceil window past the pads */
    {"AveragePool", 1, 2, 11, 10, 5, 4, 3, 3, 1, 1, 2, 2, 2, 2, NULL, 1, 1},
    {"AveragePool", 1, 1, 6, 7, 3, 2, 2, 1, 1, 1, 0, 0, 1, 1, "SAME_UPPER", 0, 0},
    {"AveragePool", 1, 1, 6, 7, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, "SAME_LOWER", 0, 1},
    {"AveragePool", 1, 2, 9, 9, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, "VALID", 0, 0},
    {"AveragePool", 3, 4, 14, 14, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, NULL, 0, 0},
};

static void test_pool_reference_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    run_case(&cases[i], 1);
    run_case(&cases[i], 2);
  }
}

/* ---------- hand-computed ---------- */

static void test_pool_hand(void **state) {
  (void)state;
  /* x = 1..16 on 4x4; 2x2 stride 2: max = 6,8,14,16; avg = 3.5,5.5,11.5,13.5 */
  int64_t xd[4] = {1, 1, 4, 4};
  adx_tensor xt = {0}, yt = {0};
  adx_tensor_alloc(&xt, ADX_F32, 4, xd, NULL);
  for (int i = 0; i < 16; i++) adx_f32(&xt)[i] = (float)(i + 1);
  adx_error err = {0};
  int ni;
  pool_case c = {"MaxPool", 1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, NULL, 0, 0};
  adx_graph *g = build_pool(&c, 4, xd, &ni);
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
  assert_int_equal(run_node(g, ni, &xt, 1, &yt, &err), ADX_OK);
  float mx[4] = {6, 8, 14, 16};
  assert_memory_equal(yt.data, mx, sizeof mx);
  adx_tensor_free(&yt);
  adx_graph_free(g);

  c.op = "AveragePool";
  g = build_pool(&c, 4, xd, &ni);
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
  assert_int_equal(run_node(g, ni, &xt, 1, &yt, &err), ADX_OK);
  float av[4] = {3.5f, 5.5f, 11.5f, 13.5f};
  assert_memory_equal(yt.data, av, sizeof av);
  adx_tensor_free(&yt);
  adx_graph_free(g);

  /* 3x3 stride 2 pad 1 average on 1..16: top-left window holds 1,2,5,6 (sum 14);
   * count_include_pad 0 -> 14/4 = 3.5, count_include_pad 1 -> 14/9 */
  pool_case c2 = {"AveragePool", 1, 1, 4, 4, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, NULL, 0, 0};
  g = build_pool(&c2, 4, xd, &ni);
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
  assert_int_equal(run_node(g, ni, &xt, 1, &yt, &err), ADX_OK);
  assert_int_equal(adx_tensor_numel(&yt), 4);
  assert_float_equal(adx_f32(&yt)[0], 3.5f, 1e-6);
  /* bottom-right window: rows 1..3, cols 1..3 (no padding) = 6,7,8,10,11,12,14,15,16 -> 99/9 = 11 */
  assert_float_equal(adx_f32(&yt)[3], 11.0f, 1e-6);
  adx_tensor_free(&yt);
  adx_graph_free(g);
  c2.cip = 1;
  g = build_pool(&c2, 4, xd, &ni);
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
  assert_int_equal(run_node(g, ni, &xt, 1, &yt, &err), ADX_OK);
  assert_float_equal(adx_f32(&yt)[0], 14.0f / 9.0f, 1e-6);
  assert_float_equal(adx_f32(&yt)[3], 11.0f, 1e-6);
  adx_tensor_free(&yt);
  adx_graph_free(g);

  /* MaxPool over negative values with padding: the pad must not win (-inf, not 0) */
  for (int i = 0; i < 16; i++) adx_f32(&xt)[i] = -(float)(i + 1);
  c2.op = "MaxPool";
  c2.cip = 0;
  g = build_pool(&c2, 4, xd, &ni);
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_OK);
  assert_int_equal(run_node(g, ni, &xt, 1, &yt, &err), ADX_OK);
  assert_float_equal(adx_f32(&yt)[0], -1.0f, 0);
  assert_float_equal(adx_f32(&yt)[3], -6.0f, 0);
  adx_tensor_free(&yt);
  adx_graph_free(g);
  adx_tensor_free(&xt);
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

typedef struct onnx_pool {
  const char *name;
  pool_case c; /* attributes as in the test's model.onnx (sizes come from the data) */
} onnx_pool;

static void test_pool_onnx(void **state) {
  (void)state;
  static const onnx_pool t[] = {
      {"test_maxpool_2d_ceil", {"MaxPool", 0, 0, 0, 0, 3, 3, 2, 2, 0, 0, 0, 0, 0, 0, NULL, 1, 0}},
      {"test_maxpool_2d_default", {"MaxPool", 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_maxpool_2d_dilations", {"MaxPool", 0, 0, 0, 0, 2, 2, 1, 1, 2, 2, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_maxpool_2d_pads", {"MaxPool", 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 2, 2, 2, 2, NULL, 0, 0}},
      {"test_maxpool_2d_precomputed_pads", {"MaxPool", 0, 0, 0, 0, 5, 5, 0, 0, 0, 0, 2, 2, 2, 2, NULL, 0, 0}},
      {"test_maxpool_2d_precomputed_same_upper",
       {"MaxPool", 0, 0, 0, 0, 3, 3, 2, 2, 0, 0, 0, 0, 0, 0, "SAME_UPPER", 0, 0}},
      {"test_maxpool_2d_precomputed_strides",
       {"MaxPool", 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_maxpool_2d_same_lower",
       {"MaxPool", 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, "SAME_LOWER", 0, 0}},
      {"test_maxpool_2d_same_upper",
       {"MaxPool", 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, "SAME_UPPER", 0, 0}},
      {"test_maxpool_2d_strides", {"MaxPool", 0, 0, 0, 0, 5, 5, 3, 3, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_averagepool_2d_ceil", {"AveragePool", 0, 0, 0, 0, 3, 3, 2, 2, 0, 0, 0, 0, 0, 0, NULL, 1, 0}},
      {"test_averagepool_2d_default", {"AveragePool", 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_averagepool_2d_pads", {"AveragePool", 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 2, 2, 2, 2, NULL, 0, 0}},
      {"test_averagepool_2d_pads_count_include_pad",
       {"AveragePool", 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 2, 2, 2, 2, NULL, 0, 1}},
      {"test_averagepool_2d_precomputed_pads",
       {"AveragePool", 0, 0, 0, 0, 5, 5, 0, 0, 0, 0, 2, 2, 2, 2, NULL, 0, 0}},
      {"test_averagepool_2d_precomputed_pads_count_include_pad",
       {"AveragePool", 0, 0, 0, 0, 5, 5, 0, 0, 0, 0, 2, 2, 2, 2, NULL, 0, 1}},
      {"test_averagepool_2d_precomputed_same_upper",
       {"AveragePool", 0, 0, 0, 0, 3, 3, 2, 2, 0, 0, 0, 0, 0, 0, "SAME_UPPER", 0, 0}},
      {"test_averagepool_2d_precomputed_strides",
       {"AveragePool", 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_averagepool_2d_same_lower",
       {"AveragePool", 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, "SAME_LOWER", 0, 0}},
      {"test_averagepool_2d_same_upper",
       {"AveragePool", 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, "SAME_UPPER", 0, 0}},
      {"test_averagepool_2d_strides", {"AveragePool", 0, 0, 0, 0, 5, 5, 3, 3, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_globalaveragepool", {"GlobalAveragePool", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_globalaveragepool_precomputed",
       {"GlobalAveragePool", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_globalmaxpool", {"GlobalMaxPool", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
      {"test_globalmaxpool_precomputed",
       {"GlobalMaxPool", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0}},
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
    adx_tensor x = {0}, want = {0}, y = {0};
    assert_true(load(t[i].name, "input_0.pb", &x));
    assert_true(load(t[i].name, "output_0.pb", &want));
    int ni;
    adx_graph *g = build_pool(&t[i].c, x.ndim, x.dims, &ni);
    adx_error err = {0};
    if (g->nodes[ni].op->infer(g, &g->nodes[ni], &err)) fail_msg("%s: %s", t[i].name, err.msg);
    const adx_value *yv = &g->values[g->nodes[ni].out[0]];
    assert_int_equal(yv->ndim, want.ndim);
    for (int k = 0; k < want.ndim; k++)
      if (yv->dims[k] != want.dims[k])
        fail_msg("%s: dim %d is %lld, want %lld", t[i].name, k, (long long)yv->dims[k],
                 (long long)want.dims[k]);
    assert_int_equal(run_node(g, ni, &x, 2, &y, &err), ADX_OK);
    check_close(adx_f32(&y), adx_f32(&want), (size_t)adx_tensor_numel(&want), 1e-5);
    adx_tensor_free(&x);
    adx_tensor_free(&want);
    adx_tensor_free(&y);
    adx_graph_free(g);
  }
}

/* ---------- global pools ---------- */

static void test_global_pools(void **state) {
  (void)state;
  adx_error err = {0};
  for (int is_max = 0; is_max < 2; is_max++) {
    for (int nd = 3; nd <= 4; nd++) {
      pool_case c = {is_max ? "GlobalMaxPool" : "GlobalAveragePool",
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     NULL,
                     0,
                     0};
      int64_t xd[4] = {2, 3, 5, nd == 4 ? 4 : 0};
      int ni;
      adx_graph *g = build_pool(&c, nd, xd, &ni);
      adx_node *n = &g->nodes[ni];
      assert_int_equal(n->op->ad, is_max ? ADX_AD_GLOBALMAX : ADX_AD_GLOBALPOOL);
      assert_int_equal(n->op->infer(g, n, &err), ADX_OK);
      const adx_value *yv = &g->values[n->out[0]];
      assert_int_equal(yv->ndim, nd);
      assert_int_equal(yv->dims[0], 2);
      assert_int_equal(yv->dims[1], 3);
      for (int k = 2; k < nd; k++) assert_int_equal(yv->dims[k], 1);
      adx_tensor xt = {0}, yt = {0};
      adx_tensor_alloc(&xt, ADX_F32, nd, xd, NULL);
      int hw = nd == 4 ? 20 : 5;
      /* plane p holds p*100 + (0..hw-1) - 50: max = p*100 + hw-1 - 50, mean = p*100 + (hw-1)/2 - 50 */
      for (int p = 0; p < 6; p++)
        for (int k = 0; k < hw; k++) adx_f32(&xt)[p * hw + k] = (float)(p * 100 + ((k * 7) % hw) - 50);
      assert_int_equal(run_node(g, ni, &xt, 2, &yt, &err), ADX_OK);
      for (int p = 0; p < 6; p++) {
        float want = is_max ? (float)(p * 100 + hw - 1 - 50) : (float)(p * 100 - 50) + (float)(hw - 1) / 2.0f;
        assert_float_equal(adx_f32(&yt)[p], want, 1e-4);
      }
      adx_tensor_free(&xt);
      adx_tensor_free(&yt);
      adx_graph_free(g);
    }
  }
  /* a 2-D input has no spatial dims */
  pool_case c = {"GlobalAveragePool", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0};
  int64_t xd[2] = {2, 3};
  int ni;
  adx_graph *g = build_pool(&c, 2, xd, &ni);
  assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_ERR_SHAPE);
  assert_non_null(strstr(err.msg, "pool_under_test"));
  adx_graph_free(g);
}

/* ---------- errors and metadata ---------- */

static void test_pool_errors(void **state) {
  (void)state;
  adx_error err = {0};
  int ni;
  int64_t x4[4] = {1, 2, 8, 8};
  /* storage_order 1 */
  {
    pool_case c = {"MaxPool", 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0};
    adx_graph *g = build_pool(&c, 4, x4, &ni);
    adx_node *n = &g->nodes[ni];
    adx_attr *na = realloc(n->attrs, sizeof(adx_attr) * (size_t)(n->nattrs + 1));
    n->attrs = na;
    n->attrs[n->nattrs++] = tu_attr_int("storage_order", 1);
    assert_int_equal(n->op->infer(g, n, &err), ADX_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "pool_under_test"));
    assert_non_null(strstr(err.msg, "storage_order"));
    adx_graph_free(g);
  }
  /* the Indices output */
  {
    adx_graph *g = adx_graph_new();
    int in[1] = {adx_graph_value(g, "x")};
    adx_value_set(&g->values[in[0]], ADX_F32, 4, x4, 1);
    int out[2] = {adx_graph_value(g, "y"), adx_graph_value(g, "idx")};
    adx_attr *at = calloc(1, sizeof *at);
    int64_t k[2] = {2, 2};
    at[0] = tu_attr_ints("kernel_shape", 2, k);
    ni = adx_graph_add_node(g, "mp_idx", "MaxPool", 1, in, 2, out, 1, at);
    assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "mp_idx"));
    assert_non_null(strstr(err.msg, "Indices"));
    adx_graph_free(g);
  }
  /* 1-D and 3-D pooling */
  {
    pool_case c = {"AveragePool", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0};
    int64_t x3[3] = {1, 2, 8};
    adx_graph *g = build_pool(&c, 3, x3, &ni);
    assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "pool_under_test"));
    adx_graph_free(g);
    int64_t x5[5] = {1, 2, 4, 4, 4};
    c.op = "MaxPool";
    g = build_pool(&c, 5, x5, &ni);
    assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_ERR_UNSUPPORTED);
    adx_graph_free(g);
  }
  /* missing kernel_shape; kernel larger than the input */
  {
    pool_case c = {"MaxPool", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0};
    adx_graph *g = build_pool(&c, 4, x4, &ni);
    assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "kernel_shape"));
    adx_graph_free(g);
    pool_case c2 = {"AveragePool", 0, 0, 0, 0, 9, 3, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0};
    g = build_pool(&c2, 4, x4, &ni);
    assert_int_equal(g->nodes[ni].op->infer(g, &g->nodes[ni], &err), ADX_ERR_SHAPE);
    adx_graph_free(g);
  }
}

static void test_pool_metadata(void **state) {
  (void)state;
  adx_error err = {0};
  int ni;
  int64_t xd[4] = {3, 4, 12, 10};
  pool_case c = {"MaxPool", 0, 0, 0, 0, 3, 2, 2, 1, 2, 1, 1, 0, 2, 1, NULL, 0, 0};
  adx_graph *g = build_pool(&c, 4, xd, &ni);
  adx_node *n = &g->nodes[ni];
  assert_int_equal(n->op->ad, ADX_AD_POOL);
  assert_int_equal(n->op->infer(g, n, &err), ADX_OK);
  /* OH = (12+3-5)/2+1 = 6, OW = (10+1-2)/1+1 = 10 */
  assert_int_equal(g->values[n->out[0]].dims[2], 6);
  assert_int_equal(g->values[n->out[0]].dims[3], 10);
  adx_window w;
  n->op->window(n, &w);
  assert_int_equal(w.kh, 3);
  assert_int_equal(w.kw, 2);
  assert_int_equal(w.sh, 2);
  assert_int_equal(w.sw, 1);
  assert_int_equal(w.dh, 2);
  assert_int_equal(w.dw, 1);
  assert_int_equal(w.ph0, 1);
  assert_int_equal(w.pw0, 0);
  assert_int_equal(w.ph1, 2);
  assert_int_equal(w.pw1, 1);
  assert_true(n->op->flops(g, n) == 3.0 * 4 * 6 * 10 * 6);
  /* re-infer at another batch size */
  g->values[n->in[0]].dims[0] = 7;
  assert_int_equal(n->op->infer(g, n, &err), ADX_OK);
  assert_int_equal(g->values[n->out[0]].dims[0], 7);
  adx_graph_free(g);
}

/* AD's masked pooling on the blocked layout (nChw<B>c): against a reference written here from the
 * documented rule (absent inputs left out; MaxPool of nothing present is 0; AveragePool divides by its
 * ONNX count less the absent taps), and bit for bit against the NCHW plane kernel, for both pool kinds,
 * several windows and block widths, with and without an output mask. */
static double masked_ref(const adx_pool_params *p, const float *x, const uint8_t *m, int pos) {
  const adx_window *w = &p->win;
  int hs = (pos / p->OW) * w->sh - w->ph0, ws = (pos % p->OW) * w->sw - w->pw0;
  double acc = p->is_max ? -INFINITY : 0.0;
  int in_input = 0, in_padded = 0, absent = 0;
  for (int ki = 0; ki < w->kh; ki++)
    for (int kj = 0; kj < w->kw; kj++) {
      int ih = hs + ki * w->dh, iw = ws + kj * w->dw;
      if (ih < p->H + w->ph1 && iw < p->W + w->pw1) in_padded++;
      if (ih < 0 || ih >= p->H || iw < 0 || iw >= p->W) continue;
      in_input++;
      if (!m[ih * p->W + iw]) {
        absent++;
        continue;
      }
      double v = x[ih * p->W + iw];
      acc = p->is_max ? (v > acc ? v : acc) : acc + v;
    }
  if (p->is_max) return in_input > 0 && absent == in_input ? 0.0 : acc;
  int cnt = (p->count_include_pad ? in_padded : in_input) - absent;
  return cnt > 0 ? acc / cnt : 0.0;
}

static void test_pool_blocked_masked(void **state) {
  (void)state;
  const struct {
    int k, s, pad, cip;
  } geo[] = {{3, 2, 1, 0}, {3, 1, 1, 0}, {2, 2, 0, 0}, {3, 2, 1, 1}, {5, 3, 2, 1}};
  const int blocks[] = {16, 8, 5};
  unsigned seed = 12345;
  for (size_t gi = 0; gi < sizeof geo / sizeof geo[0]; gi++)
    for (int is_max = 0; is_max < 2; is_max++)
      for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
        int B = blocks[bi], H = 11, W = 9;
        adx_pool_params p = {.is_max = is_max, .count_include_pad = geo[gi].cip, .C = B, .H = H, .W = W};
        p.win = (adx_window){.kh = geo[gi].k,
                             .kw = geo[gi].k,
                             .sh = geo[gi].s,
                             .sw = geo[gi].s,
                             .ph0 = geo[gi].pad,
                             .pw0 = geo[gi].pad,
                             .ph1 = geo[gi].pad,
                             .pw1 = geo[gi].pad,
                             .dh = 1,
                             .dw = 1};
        p.OH = (H + 2 * geo[gi].pad - geo[gi].k) / geo[gi].s + 1;
        p.OW = (W + 2 * geo[gi].pad - geo[gi].k) / geo[gi].s + 1;
        int hw = H * W, ohw = p.OH * p.OW;
        float *x = malloc(sizeof(float) * (size_t)(hw * B)), *xb = malloc(sizeof(float) * (size_t)(hw * B));
        float *y = malloc(sizeof(float) * (size_t)(ohw * B)), *yp = malloc(sizeof(float) * (size_t)ohw);
        uint8_t *m = malloc((size_t)hw), *mo = malloc((size_t)ohw);
        assert_non_null(x && xb && y && yp && m && mo);
        for (int i = 0; i < hw * B; i++) {
          seed = seed * 1103515245u + 12345u;
          x[i] = (float)((int)(seed >> 16) % 2001 - 1000) / 250.0f; /* [C][H*W] */
        }
        for (int c = 0; c < B; c++)
          for (int i = 0; i < hw; i++) xb[i * B + c] = x[c * hw + i];
        /* a hidden box, a hidden column, and a whole window's worth hidden at the bottom right */
        for (int i = 0; i < hw; i++) {
          int r = i / W, c = i % W;
          m[i] = !((r >= 2 && r < 5 && c >= 1 && c < 4) || c == 6 || (r >= 8 && c >= 7));
        }
        for (int i = 0; i < ohw; i++) mo[i] = (i % 5) != 2;
        for (int with_out = 0; with_out < 2; with_out++) {
          const uint8_t *mz = with_out ? mo : NULL;
          adx_pool_run_blocked_masked(&p, xb, B, m, y, mz);
          for (int c = 0; c < B; c++) {
            adx_pool_run_plane_masked(&p, x + c * hw, m, yp, mz);
            for (int i = 0; i < ohw; i++) {
              double want = mz && !mz[i] ? 0.0 : masked_ref(&p, x + c * hw, m, i);
              float got = y[i * B + c];
              if (fabs(got - want) > 1e-6 * (1 + fabs(want)))
                fail_msg("geometry %zu %s block %d channel %d position %d: %.8g, the reference %.8g", gi,
                         is_max ? "max" : "avg", B, c, i, (double)got, want);
              if (memcmp(&got, &yp[i], sizeof got))
                fail_msg("geometry %zu %s block %d channel %d position %d: %.9g, the NCHW kernel %.9g", gi,
                         is_max ? "max" : "avg", B, c, i, (double)got, (double)yp[i]);
            }
          }
        }
        free(x);
        free(xb);
        free(y);
        free(yp);
        free(m);
        free(mo);
      }
}

int main(void) {
  adx_threads_set(2);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pool_hand),           cmocka_unit_test(test_pool_reference_cases),
      cmocka_unit_test(test_pool_onnx),           cmocka_unit_test(test_global_pools),
      cmocka_unit_test(test_pool_errors),         cmocka_unit_test(test_pool_metadata),
      cmocka_unit_test(test_pool_blocked_masked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
