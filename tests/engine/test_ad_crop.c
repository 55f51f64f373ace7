/* AD's deactivated work skipped (ADX_AD_BAND, src/ad/run.c + adx_conv_lib_sample_band): on the oneDNN
 * path each Conv of a sample with something hidden computes only the crop around its active outputs. The
 * skipped positions are deactivated, so they are 0 either way, and the crop's primitive runs the layer's
 * own kernel on the same inputs: every AD logit must be bit for bit what the whole-layer run
 * (ADX_AD_BAND=0) gives, on every fixture model, for the masks ReX and the sliding window ask (a small
 * visible box, two boxes, a strip, a single pixel, nothing visible, everything visible), under every AD
 * variant, at several batch sizes and thread counts. The engine must also have made crop primitives
 * (else this test proves nothing). The whole-layer AD path itself is checked against PyTorch elsewhere
 * (tests/integration/test_ad_torch.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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
  const char *model, *input;
  int expect_crops; /* the fixture's convolutions hand blocked activations on (VGG: its first layer) */
} fixture;

static const fixture fixtures[] = {
    {"fashion_resnet", "fashion_test32_input.npy", 1},
    {"fashion_resnet_bn", "fashion_test32_input.npy", 1},
    {"fashion_vgg", "fashion_test32_input.npy", 0},
    {"textured_resnet", "textured_test32_input.npy", 1},
    {"textured_offset_resnet", "textured_offset_test32_input.npy", 1},
    {"motif_resnet", "motif_test32_input.npy", 1},
};

/* Sample b's mask (1 = visible): the kinds of mutant the explainers ask. */
static void make_mask(int b, int H, int W, uint8_t *m) {
  int kind = b % 8;
  memset(m, kind == 7 ? 1 : 0, (size_t)H * (size_t)W);
  int r0 = (b * 5) % H, c0 = (b * 11) % W; /* a position that moves with b */
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) {
      int v = 0;
      switch (kind) {
      case 0: v = i >= r0 / 2 && i < r0 / 2 + H / 4 && j >= c0 / 2 && j < c0 / 2 + W / 4; break; /* a box */
      case 1: v = (i < H / 4 && j < W / 4) || (i >= H - H / 4 && j >= W - W / 3); break;   /* two corners */
      case 2: v = j >= c0 && j < c0 + 3; break;                                            /* a strip */
      case 3: v = i == r0 && j == c0; break;                                               /* one pixel */
      case 4: v = 0; break;                                                                /* nothing */
      case 5: v = i >= H / 2 && j < W / 2; break;                                          /* a quarter */
      case 6: v = i >= r0 / 3 && i < r0 / 3 + H / 2 && j >= W / 4 && j < W - W / 8; break; /* a large box */
      default: v = 1; break;                                                               /* everything */
      }
      m[(size_t)i * (size_t)W + (size_t)j] = (uint8_t)(kind == 7 ? 1 : v);
    }
}

/* AD logits of the first n images of `in`, in batches of `batch`, under `mode`, into out. */
static void run_ad(adx_engine *e, const adx_tensor *in, int n, int batch, const char *mode, float *out,
                   int classes) {
  adx_mode m;
  TU_OK(adx_mode_parse(mode, &m, err));
  int H = (int)in->dims[2], W = (int)in->dims[3];
  size_t chw = (size_t)(adx_tensor_numel(in) / in->dims[0]), hw = (size_t)H * (size_t)W;
  uint8_t *mk = malloc((size_t)n * hw);
  assert_non_null(mk);
  for (int b = 0; b < n; b++) make_mask(b, H, W, mk + (size_t)b * hw);
  for (int s = 0; s < n; s += batch) {
    int nb = n - s < batch ? n - s : batch;
    adx_tensor part = *in;
    part.owns_data = 0;
    part.dims[0] = nb;
    part.data = adx_f32(in) + (size_t)s * chw;
    const adx_tensor *o;
    TU_OK(adx_engine_run_ad(e, &part, mk + (size_t)s * hw, &m.ad, &o, err));
    memcpy(out + (size_t)s * (size_t)classes, adx_f32(o), sizeof(float) * (size_t)nb * (size_t)classes);
  }
  free(mk);
}

static void check(const fixture *f) {
  char path[512], buf[512];
  adx_graph *g = NULL;
  adx_tensor in = {0};
  snprintf(buf, sizeof buf, "%s.onnx", f->model);
  TU_OK(adx_model_load(tu_data(path, sizeof path, buf), NULL, &g, err));
  TU_OK(adx_npy_load(tu_data(path, sizeof path, f->input), &in, err));
  const int light = getenv("ADX_VALGRIND") != NULL; /* the BLAS path there: nothing to crop, memory only */
  const int n = light ? 8 : (int)in.dims[0];
  adx_engine *probe = NULL;
  TU_OK(adx_engine_create(g, 1, &probe, err));
  adx_tensor one = in;
  one.owns_data = 0;
  one.dims[0] = 1;
  const adx_tensor *o1;
  TU_OK(adx_engine_run(probe, &one, &o1, err));
  const int classes = (int)o1->dims[1];
  adx_engine_free(probe);
  const size_t nl = (size_t)n * (size_t)classes;
  float *a = malloc(sizeof(float) * nl), *b = malloc(sizeof(float) * nl);
  assert_non_null(a);
  assert_non_null(b);
  static const char *const modes[] = {"ad",
                                      "ad:strict:all:none:every",
                                      "ad:loose:all:none:every",
                                      "ad:ratio:0.5:active:none:every",
                                      "ad:ratio:0.5:all:none:checkpoints",
                                      "ad:ratio:0.5:all:partial:every",
                                      "ad:ratio:0.5:all:leak:every"};
  const int threads[] = {2, 1}, batches[] = {32, 5};
  for (size_t t = 0; t < (light ? 1u : 2u); t++) {
    adx_engine *e = NULL;
    TU_OK(adx_engine_create(g, threads[t], &e, err));
    for (size_t k = 0; k < (light ? 2u : sizeof modes / sizeof *modes); k++)
      for (size_t q = 0; q < (light ? 1u : 2u); q++) {
        setenv("ADX_AD_BAND", "0", 1);
        run_ad(e, &in, n, batches[q], modes[k], a, classes);
        setenv("ADX_AD_BAND", "1", 1);
        run_ad(e, &in, n, batches[q], modes[k], b, classes);
        unsetenv("ADX_AD_BAND");
        if (memcmp(a, b, sizeof(float) * nl)) {
          size_t i = 0;
          while (a[i] == b[i]) i++;
          fail_msg(
              "%s, %s, %d thread(s), batch %d: cropped AD logit %zu (sample %zu) is %.9g, whole layers %.9g",
              f->model, modes[k], threads[t], batches[q], i, i / (size_t)classes, (double)b[i], (double)a[i]);
        }
      }
    int shapes = adx_engine_crop_shapes(e);
    if (t == 0) print_message("%s: %d crop shapes made\n", f->model, shapes);
    if (f->expect_crops && adx_conv_backend() == 1 && adx_layout_setting() == 1) assert_true(shapes > 0);
    if (adx_conv_backend() != 1) assert_int_equal(shapes, 0);
    adx_engine_free(e);
  }
  free(a);
  free(b);
  adx_tensor_free(&in);
  adx_graph_free(g);
}

static void test_fixture_models(void **state) {
  (void)state;
  size_t nf = getenv("ADX_VALGRIND") ? 1 : sizeof fixtures / sizeof *fixtures;
  for (size_t i = 0; i < nf; i++) check(&fixtures[i]);
}

static void test_bad_setting(void **state) {
  (void)state;
  char path[512];
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  TU_OK(adx_model_load(tu_data(path, sizeof path, "fashion_resnet.onnx"), NULL, &g, err));
  setenv("ADX_AD_BAND", "yes", 1);
  adx_error er = {0};
  assert_int_equal(adx_ad_band_setting(), -1);
  assert_int_not_equal(adx_engine_create(g, 1, &e, &er), ADX_OK);
  assert_null(e);
  assert_non_null(strstr(er.msg, "ADX_AD_BAND is 'yes'"));
  setenv("ADX_AD_BAND", "0", 1);
  assert_int_equal(adx_ad_band_setting(), 0);
  setenv("ADX_AD_BAND", "1", 1);
  assert_int_equal(adx_ad_band_setting(), 1);
  unsetenv("ADX_AD_BAND");
  assert_int_equal(adx_ad_band_setting(), 1);
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_fixture_models),
                                     cmocka_unit_test(test_bad_setting)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
