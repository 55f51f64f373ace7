/* The layout plan (src/engine/engine.c): plain runs through oneDNN hand activations from layer to layer in
 * the library's blocked layout instead of reordering each one to NCHW and back. Reorders are exact copies
 * and the kernels are the same, so every logit must be bit for bit what the NCHW-only engine
 * (ADX_LAYOUT=nchw) computes, on every fixture model, at several batch sizes and thread counts; and the
 * plan must actually keep values blocked where the model allows it (else this test proves nothing). The
 * same holds for AD runs (src/engine/masked.c, src/ad/run.c) under every AD variant, with rectangles of
 * the image hidden. The
 * logits are also checked against PyTorch's (scripts/make_fixtures.py) within the fixtures' tolerance.
 * A hand-built graph puts the plan's boundaries side by side (a residual Add whose other operand is the
 * graph's input, which is NCHW; an Add of a constant; a MaxPool and a Conv chain that may stay blocked; a
 * global pool reading a blocked value) and is checked against a plain double-precision evaluation written
 * here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"
#include "adx/engine.h"
#include "adx/io.h"
#include "adx/model.h"
#include "common/attr.h"
#include "common/testutil.h"

typedef struct fixture {
  const char *model, *input, *logits;
  int expect_blocked; /* the plan must keep some values blocked (ResNets: Conv -> Add -> Conv chains) */
} fixture;

static const fixture fixtures[] = {
    {"fashion_resnet", "fashion_test32_input.npy", "fashion_resnet_logits.npy", 1},
    {"fashion_resnet_bn", "fashion_test32_input.npy", "fashion_resnet_logits.npy", 1},
    {"fashion_vgg", "fashion_test32_input.npy", "fashion_vgg_logits.npy", 0},
    {"textured_resnet", "textured_test32_input.npy", "textured_resnet_logits.npy", 1},
    {"textured_offset_resnet", "textured_offset_test32_input.npy", "textured_offset_resnet_logits.npy", 1},
    {"motif_resnet", "motif_test32_input.npy", "motif_resnet_logits.npy", 1},
};

static int on_library_path(void) { return adx_conv_backend() == 1; }

/* Logits of every image of `in`, in batches of `batch`, into out (n x classes). */
static void run_batches(adx_engine *e, const adx_tensor *in, int batch, float *out, int classes) {
  int64_t n = in->dims[0];
  size_t chw = (size_t)(adx_tensor_numel(in) / n);
  for (int64_t s = 0; s < n; s += batch) {
    int64_t b = n - s < batch ? n - s : batch;
    adx_tensor part = *in;
    part.owns_data = 0;
    part.dims[0] = b;
    part.data = adx_f32(in) + (size_t)s * chw;
    const adx_tensor *o;
    TU_OK(adx_engine_run(e, &part, &o, err));
    assert_int_equal(o->dims[0], b);
    assert_int_equal(o->dims[1], classes);
    memcpy(out + (size_t)s * classes, adx_f32(o), sizeof(float) * (size_t)(b * classes));
  }
}

/* AD logits of every image of `in` (batch of all), each with its own hidden rectangle (a few all visible),
 * under `mode`, into out. */
static void run_ad(adx_engine *e, const adx_tensor *in, const char *mode, float *out, int classes) {
  adx_mode m;
  TU_OK(adx_mode_parse(mode, &m, err));
  int n = (int)in->dims[0], H = (int)in->dims[2], W = (int)in->dims[3];
  uint8_t *mk = malloc((size_t)n * (size_t)H * (size_t)W);
  assert_non_null(mk);
  for (int b = 0; b < n; b++)
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) { /* sample b hides rows [r0, +H/2) x cols [c0, +W/3) */
        int r0 = b % 4 == 1   ? 0
                 : b % 4 == 2 ? H - H / 2
                              : (b % 7) * 2,
            c0 = b % 4 == 1   ? 0
                 : b % 4 == 2 ? W - W / 3
                              : (b % 5) * 3; /* corners, and elsewhere */
        mk[((size_t)b * H + i) * W + j] =
            b % 6 == 0 || !(i >= r0 && i < r0 + H / 2 && j >= c0 && j < c0 + W / 3);
      }
  const adx_tensor *o;
  TU_OK(adx_engine_run_ad(e, in, mk, &m.ad, &o, err));
  memcpy(out, adx_f32(o), sizeof(float) * (size_t)n * (size_t)classes);
  free(mk);
}

static void check(const fixture *f) {
  char path[512], buf[512];
  adx_graph *g = NULL;
  adx_engine *blocked = NULL, *nchw = NULL;
  adx_tensor in = {0}, ref = {0};
  snprintf(buf, sizeof buf, "%s.onnx", f->model);
  TU_OK(adx_model_load(tu_data(path, sizeof path, buf), NULL, &g, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, f->input), &in, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, f->logits), &ref, err));
  const int n = (int)in.dims[0], classes = (int)ref.dims[1];
  const size_t nl = (size_t)n * (size_t)classes;
  float *a = malloc(sizeof(float) * nl), *b = malloc(sizeof(float) * nl);
  assert_non_null(a);
  assert_non_null(b);
  /* under valgrind (the BLAS path, so no plan to check, only memory): one thread count, one batch size */
  const int light = getenv("ADX_VALGRIND") != NULL;
  const int threads[] = {2, 1}, batches[] = {32, 7, 1};
  for (size_t t = 0; t < (light ? 1u : 2u); t++) {
    unsetenv("ADX_LAYOUT");
    TU_OK(adx_engine_create(g, threads[t], &blocked, err));
    setenv("ADX_LAYOUT", "nchw", 1);
    TU_OK(adx_engine_create(g, threads[t], &nchw, err));
    unsetenv("ADX_LAYOUT");
    for (size_t k = 0; k < (light ? 1u : sizeof batches / sizeof *batches); k++) {
      run_batches(nchw, &in, batches[k], a, classes);
      run_batches(blocked, &in, batches[k], b, classes);
      assert_int_equal(adx_engine_blocked_values(nchw), 0);
      int nb = adx_engine_blocked_values(blocked);
      if (k == 0 && t == 0)
        print_message("%s: %d values kept blocked, max |adx - torch| = %.3g\n", f->model, nb,
                      tu_max_abs_diff(b, adx_f32(&ref), nl));
      if (f->expect_blocked && on_library_path()) assert_true(nb > 0);
      if (!on_library_path()) assert_int_equal(nb, 0);
      if (memcmp(a, b, sizeof(float) * nl)) {
        size_t i = 0;
        while (a[i] == b[i]) i++;
        fail_msg("%s, %d thread(s), batch %d: blocked logit %zu is %.9g, NCHW %.9g", f->model, threads[t],
                 batches[k], i, (double)b[i], (double)a[i]);
      }
      assert_true(tu_max_abs_diff(b, adx_f32(&ref), nl) <= 1e-4);
    }
    static const char *const modes[] = {"ad",
                                        "ad:strict:all:none:every",
                                        "ad:ratio:0.5:active:none:every",
                                        "ad:ratio:0.5:all:none:checkpoints",
                                        "ad:ratio:0.5:all:partial:every",
                                        "ad:loose:all:leak:every"};
    for (size_t k = 0; k < (light ? 2u : sizeof modes / sizeof *modes); k++) {
      run_ad(nchw, &in, modes[k], a, classes);
      run_ad(blocked, &in, modes[k], b, classes);
      /* none blocked (-1: no plan at these shapes, which partial AD does not make, and the shared graph's
       * shapes change with the other engine's micro-batches) */
      assert_true(adx_engine_blocked_values(nchw) <= 0);
      if (f->expect_blocked && on_library_path()) assert_true(adx_engine_blocked_values(blocked) > 0);
      if (memcmp(a, b, sizeof(float) * nl)) {
        size_t i = 0;
        while (a[i] == b[i]) i++;
        fail_msg("%s, %d thread(s), %s: blocked AD logit %zu is %.9g, NCHW %.9g", f->model, threads[t],
                 modes[k], i, (double)b[i], (double)a[i]);
      }
      /* A1 on the planned engine: the all-visible samples equal the plain run bit for bit */
      run_batches(blocked, &in, 32, a, classes);
      for (int s = 0; s < n; s += 6)
        assert_memory_equal(a + (size_t)s * classes, b + (size_t)s * classes,
                            sizeof(float) * (size_t)classes);
    }
    adx_engine_free(blocked);
    adx_engine_free(nchw);
  }
  free(a);
  free(b);
  adx_tensor_free(&in);
  adx_tensor_free(&ref);
  adx_graph_free(g);
}

static void test_fixture_models(void **state) {
  (void)state;
  /* under valgrind: the first fixture only (see check) */
  size_t nf = getenv("ADX_VALGRIND") ? 1 : sizeof fixtures / sizeof *fixtures;
  for (size_t i = 0; i < nf; i++) check(&fixtures[i]);
}

/* ---- the hand-built graph ----
 * x [N,16,6,6] -> c1 = Conv 3x3 pad 1 (16) -> m = MaxPool 3x3 stride 1 pad 1 -> c2 = Conv 3x3 pad 1 (16)
 * -> a = Add(c2, x) -> c3 = Conv 1x1 (16) -> d = Add(c3, K) (K a constant of c3's shape) -> c4 = Conv 3x3
 * pad 1 (32) -> c5 = Conv 3x3 pad 1 (32) -> e = Add(c4, c5) -> GlobalAveragePool(e) + GlobalMaxPool(e) ->
 * Flatten -> y [N,32].
 * On the library path c1, m, c4, c5 and e may stay blocked; c2 and a must not (x is NCHW), nor c3 (d has a
 * constant operand, NCHW). */
enum { HW = 6, HW2 = HW * HW };
typedef struct hconv {
  int cin, cout, k;
  float *w, *b;
} hconv;

static float hval(unsigned *st) {
  *st = *st * 1103515245u + 12345u;
  return (float)((*st >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static int add_const(adx_graph *g, const char *name, int nd, const int64_t *dims, const float *v) {
  int id = adx_graph_value(g, name);
  adx_error er = {0};
  assert_int_equal(adx_tensor_alloc(&g->values[id].cval, ADX_F32, nd, dims, &er), ADX_OK);
  memcpy(adx_f32(&g->values[id].cval), v, sizeof(float) * (size_t)adx_tensor_numel(&g->values[id].cval));
  adx_value_set(&g->values[id], ADX_F32, nd, dims, 0);
  g->values[id].is_const = 1;
  return id;
}

static int add_conv(adx_graph *g, const char *name, int in, const hconv *c) {
  char wn[32], bn[32];
  snprintf(wn, sizeof wn, "%s_w", name);
  snprintf(bn, sizeof bn, "%s_b", name);
  int64_t wd[4] = {c->cout, c->cin, c->k, c->k}, bd[1] = {c->cout};
  int ins[3] = {in, add_const(g, wn, 4, wd, c->w), add_const(g, bn, 1, bd, c->b)};
  int out = adx_graph_value(g, name);
  int64_t pads[4] = {c->k / 2, c->k / 2, c->k / 2, c->k / 2};
  adx_attr *at = malloc(sizeof *at);
  at[0] = tu_attr_ints("pads", 4, pads);
  adx_graph_add_node(g, name, "Conv", 3, ins, 1, &out, 1, at);
  return out;
}

static int add_node2(adx_graph *g, const char *name, const char *op, int a, int b) {
  int ins[2] = {a, b}, out = adx_graph_value(g, name);
  adx_graph_add_node(g, name, op, b >= 0 ? 2 : 1, ins, 1, &out, 0, NULL);
  return out;
}

/* reference: y[co] = b[co] + sum x[ci] * w (double), same padding */
static void ref_conv(const hconv *c, const double *x, double *y) {
  for (int co = 0; co < c->cout; co++)
    for (int i = 0; i < HW; i++)
      for (int j = 0; j < HW; j++) {
        double s = c->b[co];
        for (int ci = 0; ci < c->cin; ci++)
          for (int u = 0; u < c->k; u++)
            for (int v = 0; v < c->k; v++) {
              int ii = i + u - c->k / 2, jj = j + v - c->k / 2;
              if (ii < 0 || jj < 0 || ii >= HW || jj >= HW) continue;
              s += x[ci * HW2 + ii * HW + jj] * c->w[((co * c->cin + ci) * c->k + u) * c->k + v];
            }
        y[co * HW2 + i * HW + j] = s;
      }
}

static void test_plan_boundaries(void **state) {
  (void)state;
  unsigned st = 7;
  hconv cv[5] = {
      {16, 16, 3, 0, 0}, {16, 16, 3, 0, 0}, {16, 16, 1, 0, 0}, {16, 32, 3, 0, 0}, {32, 32, 3, 0, 0}};
  for (int i = 0; i < 5; i++) {
    int nw = cv[i].cout * cv[i].cin * cv[i].k * cv[i].k;
    cv[i].w = malloc(sizeof(float) * (size_t)nw);
    cv[i].b = malloc(sizeof(float) * (size_t)cv[i].cout);
    for (int k = 0; k < nw; k++) cv[i].w[k] = hval(&st) / (float)(cv[i].cin * cv[i].k);
    for (int k = 0; k < cv[i].cout; k++) cv[i].b[k] = hval(&st);
  }
  float kconst[16 * HW2];
  for (int k = 0; k < 16 * HW2; k++) kconst[k] = hval(&st);

  adx_graph *g = adx_graph_new();
  int x = adx_graph_value(g, "x");
  int64_t xd[4] = {1, 16, HW, HW}, kd[4] = {1, 16, HW, HW};
  adx_value_set(&g->values[x], ADX_F32, 4, xd, 1);
  g->values[x].is_input = 1;
  int c1 = add_conv(g, "c1", x, &cv[0]);
  int m = adx_graph_value(g, "m");
  {
    int64_t ks[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
    adx_attr *at = malloc(2 * sizeof *at);
    at[0] = tu_attr_ints("kernel_shape", 2, ks);
    at[1] = tu_attr_ints("pads", 4, pads);
    adx_graph_add_node(g, "m", "MaxPool", 1, &c1, 1, &m, 2, at);
  }
  int c2 = add_conv(g, "c2", m, &cv[1]);
  int a = add_node2(g, "a", "Add", c2, x);
  int c3 = add_conv(g, "c3", a, &cv[2]);
  int d = add_node2(g, "d", "Add", c3, add_const(g, "K", 4, kd, kconst));
  int c4 = add_conv(g, "c4", d, &cv[3]);
  int c5 = add_conv(g, "c5", c4, &cv[4]);
  int e5 = add_node2(g, "e", "Add", c4, c5);
  int p = add_node2(g, "p", "GlobalAveragePool", e5, -1);
  int q = add_node2(g, "q", "GlobalMaxPool", e5, -1);
  int y = add_node2(g, "y", "Flatten", add_node2(g, "pq", "Add", p, q), -1);
  g->ninputs = g->noutputs = 1;
  g->inputs = malloc(sizeof(int));
  g->outputs = malloc(sizeof(int));
  g->inputs[0] = x;
  g->outputs[0] = y;
  g->values[y].is_output = 1;
  g->declared_batch = 1;
  TU_OK(adx_graph_prepare(g, err));

  enum { N = 5 };
  static float img[N * 16 * HW2];
  for (int k = 0; k < N * 16 * HW2; k++) img[k] = 2.0f * hval(&st);
  /* the reference, per sample */
  double want[N][32];
  double *t0 = malloc(sizeof(double) * 32 * HW2 * 4), *t1 = t0 + 32 * HW2, *t2 = t1 + 32 * HW2,
         *t3 = t2 + 32 * HW2;
  for (int s = 0; s < N; s++) {
    const float *im = img + s * 16 * HW2;
    for (int k = 0; k < 16 * HW2; k++) t0[k] = im[k];
    ref_conv(&cv[0], t0, t1);    /* c1 */
    for (int c = 0; c < 16; c++) /* m */
      for (int i = 0; i < HW; i++)
        for (int j = 0; j < HW; j++) {
          double mx = -1e300;
          for (int u = -1; u <= 1; u++)
            for (int v = -1; v <= 1; v++)
              if (i + u >= 0 && j + v >= 0 && i + u < HW && j + v < HW &&
                  t1[c * HW2 + (i + u) * HW + j + v] > mx)
                mx = t1[c * HW2 + (i + u) * HW + j + v];
          t2[c * HW2 + i * HW + j] = mx;
        }
    ref_conv(&cv[1], t2, t1);                              /* c2 */
    for (int k = 0; k < 16 * HW2; k++) t1[k] += im[k];     /* a */
    ref_conv(&cv[2], t1, t0);                              /* c3 */
    for (int k = 0; k < 16 * HW2; k++) t0[k] += kconst[k]; /* d */
    ref_conv(&cv[3], t0, t2);                              /* c4 */
    ref_conv(&cv[4], t2, t3);                              /* c5 */
    for (int c = 0; c < 32; c++) {
      double sum = 0, mx = -1e300;
      for (int k = 0; k < HW2; k++) {
        double v = t2[c * HW2 + k] + t3[c * HW2 + k];
        sum += v;
        mx = v > mx ? v : mx;
      }
      want[s][c] = sum / HW2 + mx;
    }
  }
  free(t0);
  float got[2][N * 32], gad[2][6][N * 32];
  static const char *const modes[6] = {"ad",
                                       "ad:strict:all:none:every",
                                       "ad:ratio:0.5:active:none:every",
                                       "ad:ratio:0.5:all:none:checkpoints",
                                       "ad:loose:all:none:every",
                                       "ad:ratio:0.5:all:leak:every"};
  /* sample s hides a 2x2 square at (r0[s], c0[s]): a corner, the middle, the other corner; sample 0 none */
  static const int r0[N] = {0, 0, 2, 4, 3}, c0[N] = {0, 0, 3, 4, 1};
  uint8_t mk[N * HW2];
  for (int s = 0; s < N; s++)
    for (int k = 0; k < HW2; k++) {
      int i = k / HW, j = k % HW;
      mk[s * HW2 + k] = s == 0 || !(i >= r0[s] && i < r0[s] + 2 && j >= c0[s] && j < c0[s] + 2);
    }
  for (int lay = 0; lay < 2; lay++) {
    adx_engine *e = NULL;
    if (lay) setenv("ADX_LAYOUT", "nchw", 1);
    TU_OK(adx_engine_create(g, 2, &e, err));
    unsetenv("ADX_LAYOUT");
    adx_tensor in = {.dtype = ADX_F32, .ndim = 4, .dims = {N, 16, HW, HW}, .data = img};
    const adx_tensor *out;
    TU_OK(adx_engine_run(e, &in, &out, err));
    memcpy(got[lay], adx_f32(out), sizeof got[lay]);
    int nb = adx_engine_blocked_values(e);
    /* batch 1, where the constant K has the very shape of c3 (still not a blocked operand) */
    for (int s = 0; s < N; s++) {
      adx_tensor one = {.dtype = ADX_F32, .ndim = 4, .dims = {1, 16, HW, HW}, .data = img + s * 16 * HW2};
      TU_OK(adx_engine_run(e, &one, &out, err));
      if (memcmp(adx_f32(out), got[lay] + s * 32, sizeof(float) * 32))
        fail_msg("%s layout: sample %d alone differs from the batch of %d", lay ? "NCHW" : "planned", s, N);
    }
    if (!lay && on_library_path()) {
      print_message("hand-built graph: %d values kept blocked\n", nb);
      assert_true(nb >= 4); /* c1, m, c4 and e at least */
    }
    for (int k = 0; k < 6; k++) { /* AD: the masked pools and zeroing on either layout */
      adx_mode md;
      TU_OK(adx_mode_parse(modes[k], &md, err));
      TU_OK(adx_engine_run_ad(e, &in, mk, &md.ad, &out, err));
      memcpy(gad[lay][k], adx_f32(out), sizeof gad[lay][k]);
      assert_memory_equal(gad[lay][k], got[lay], sizeof(float) * 32); /* A1: sample 0 shows everything */
    }
    adx_engine_free(e);
    for (int s = 0; s < N; s++)
      for (int c = 0; c < 32; c++)
        if (fabs(got[lay][s * 32 + c] - want[s][c]) > 1e-4 * (1 + fabs(want[s][c])))
          fail_msg("%s layout: sample %d output %d is %.7g, the reference %.7g", lay ? "NCHW" : "planned", s,
                   c, (double)got[lay][s * 32 + c], want[s][c]);
  }
  assert_memory_equal(got[0], got[1], sizeof got[0]);
  for (int k = 0; k < 6; k++)
    if (memcmp(gad[0][k], gad[1][k], sizeof gad[0][k]))
      fail_msg("hand-built graph, %s: the layouts differ", modes[k]);
  for (int i = 0; i < 5; i++) {
    free(cv[i].w);
    free(cv[i].b);
  }
  adx_graph_free(g);
}

static void test_bad_setting(void **state) {
  (void)state;
  char path[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  TU_OK(adx_model_load(tu_data(path, sizeof path, "fashion_resnet.onnx"), NULL, &g, err));
  setenv("ADX_LAYOUT", "nhwc", 1);
  adx_error er = {0};
  assert_int_equal(adx_layout_setting(), -1);
  assert_int_not_equal(adx_engine_create(g, 1, &e, &er), ADX_OK);
  assert_null(e);
  assert_non_null(strstr(er.msg, "ADX_LAYOUT is 'nhwc'"));
  setenv("ADX_LAYOUT", "blocked", 1);
  assert_int_equal(adx_layout_setting(), 1);
  setenv("ADX_LAYOUT", "nchw", 1);
  assert_int_equal(adx_layout_setting(), 0);
  unsetenv("ADX_LAYOUT");
  assert_int_equal(adx_layout_setting(), 1);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_fixture_models),
                                     cmocka_unit_test(test_plan_boundaries),
                                     cmocka_unit_test(test_bad_setting)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
