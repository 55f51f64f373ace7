/* Preprocessing. Expected values: by hand (normalisation, luma, 2x2 -> 4x4 bilinear) and from PyTorch 1.13 /
 * torchvision 0.14 (F.interpolate(mode='bilinear', align_corners=False), TF.resize(int, antialias=False),
 * TF.center_crop), as noted at each case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/io.h"

static adx_image make(int c, int h, int w, const float *v) {
  adx_image im;
  adx_error err = {0};
  assert_int_equal(adx_image_alloc(&im, c, h, w, &err), ADX_OK);
  if (v) memcpy(im.data, v, sizeof(float) * (size_t)c * h * w);
  return im;
}

static void assert_close(const float *got, const float *want, int n, double tol) {
  for (int i = 0; i < n; i++)
    if (fabs((double)got[i] - (double)want[i]) > tol)
      fail_msg("element %d: got %.9g, want %.9g", i, got[i], want[i]);
}

static void test_defaults_and_set(void **state) {
  (void)state;
  adx_preproc p;
  adx_error err = {0};
  adx_preproc_default(&p);
  assert_true(p.norm.scale == 1.0f / 255.0f);
  assert_int_equal(p.resize, 0);
  assert_int_equal(p.crop_h, 0);
  assert_int_equal(p.norm.nmean, 0);
  assert_int_equal(p.norm.nstd, 0);
  assert_int_equal(adx_preproc_set(&p, "resize", "256", &err), ADX_OK);
  assert_int_equal(p.resize, 256);
  assert_int_equal(adx_preproc_set(&p, "crop", "224", &err), ADX_OK);
  assert_int_equal(p.crop_h, 224);
  assert_int_equal(p.crop_w, 224);
  assert_int_equal(adx_preproc_set(&p, "crop", "200x100", &err), ADX_OK);
  assert_int_equal(p.crop_h, 200);
  assert_int_equal(p.crop_w, 100);
  assert_int_equal(adx_preproc_set(&p, "scale", "1/255", &err), ADX_OK);
  assert_true(p.norm.scale == (float)(1.0 / 255.0));
  assert_int_equal(adx_preproc_set(&p, "scale", "0.5", &err), ADX_OK);
  assert_true(p.norm.scale == 0.5f);
  assert_int_equal(adx_preproc_set(&p, "mean", "0.485, 0.456,0.406", &err), ADX_OK);
  assert_int_equal(p.norm.nmean, 3);
  assert_true(p.norm.mean[0] == 0.485f && p.norm.mean[1] == 0.456f && p.norm.mean[2] == 0.406f);
  assert_int_equal(adx_preproc_set(&p, "std", "0.353", &err), ADX_OK);
  assert_int_equal(p.norm.nstd, 1);
  assert_true(p.norm.std[0] == 0.353f);
  assert_int_equal(adx_preproc_set(&p, "resize", "0", &err), ADX_OK);
  assert_int_equal(p.resize, 0);

  static const char *bad[][2] = {{"resize", "-1"}, {"resize", "abc"},     {"resize", ""},   {"resize", "1e3"},
                                 {"crop", "0x5"},  {"crop", "5x"},        {"crop", "axb"},  {"scale", "0"},
                                 {"scale", "-1"},  {"scale", "1/0"},      {"scale", "nan"}, {"std", "1,0"},
                                 {"std", "1,,2"},  {"mean", "1,2,3,4,5"}, {"mean", "x"},    {"std", "inf"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    adx_error e = {0};
    if (adx_preproc_set(&p, bad[i][0], bad[i][1], &e) != ADX_ERR_ARG)
      fail_msg("%s = '%s' was accepted", bad[i][0], bad[i][1]);
    assert_non_null(strstr(e.msg, bad[i][0])); /* the key is named */
  }
  assert_int_equal(adx_preproc_set(&p, "rezise", "3", &err), ADX_ERR_ARG);
  assert_non_null(strstr(err.msg, "rezise"));
}

static void test_normalize(void **state) {
  (void)state;
  adx_preproc p;
  adx_preproc_default(&p);
  /* one mean/std for all: (raw/255 - 0.5) / 0.25 */
  p.norm.nmean = p.norm.nstd = 1;
  p.norm.mean[0] = 0.5f;
  p.norm.std[0] = 0.25f;
  const float raw[3] = {0, 255, 51};
  float out[3];
  adx_preproc_normalize(&p, raw, 1, 1, 3, out);
  assert_close(out, (const float[]){-2.0f, 2.0f, -1.2f}, 3, 1e-6);
  /* per channel, 3 channels of 2 pixels; scale 1 */
  p.norm.scale = 1.0f;
  p.norm.nmean = p.norm.nstd = 3;
  p.norm.mean[0] = 1, p.norm.mean[1] = 2, p.norm.mean[2] = 3;
  p.norm.std[0] = 1, p.norm.std[1] = 2, p.norm.std[2] = 4;
  const float raw3[6] = {1, 2, 4, 6, 11, 3};
  float out3[6];
  adx_preproc_normalize(&p, raw3, 3, 1, 2, out3);
  assert_close(out3, (const float[]){0, 1, 1, 2, 2, 0}, 6, 0);
  /* defaults: raw/255, in place */
  adx_preproc_default(&p);
  float buf[2] = {255, 127.5f};
  adx_preproc_normalize(&p, buf, 1, 1, 2, buf);
  assert_close(buf, (const float[]){1.0f, 0.5f}, 2, 1e-7);
}

static void test_resize_2x2_to_4x4(void **state) {
  (void)state;
  /* half-pixel centres: source x = (x + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (-> 1 and 1),
   * so a row [a, b] becomes [a, .75a + .25b, .25a + .75b, b]; the same down the columns. */
  const float in[4] = {0, 4, 8, 12};
  const float want[16] = {0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12};
  float out[16];
  adx_image_resize(in, 1, 2, 2, 4, 4, 0, 0, out, 4, 4);
  assert_close(out, want, 16, 0);
}

static void test_resize_torch(void **state) {
  (void)state;
  /* x = arange(15).reshape(3, 5) * 7 % 11, F.interpolate(size=(4, 7), bilinear, align_corners=False) */
  float in[15];
  for (int i = 0; i < 15; i++) in[i] = (float)((i * 7) % 11);
  const float want[28] = {0.0f,  4.0f,         5.857142448f, 3.000000477f, 8.000000954f, 8.285714149f, 6.0f,
                          1.25f, 5.25f,        7.107142925f, 4.25f,        4.339285851f, 5.607142925f, 7.25f,
                          2.75f, 4.392857074f, 5.660714149f, 5.749999523f, 2.892856836f, 4.750000477f, 8.75f,
                          4.0f,  1.714285612f, 2.000000238f, 6.999999523f, 4.142857075f, 6.000000477f, 10.0f};
  float out[28];
  adx_image_resize(in, 1, 3, 5, 4, 7, 0, 0, out, 4, 7);
  assert_close(out, want, 28, 2e-6);
  /* 4x4 -> 2x2 averages each 2x2 block */
  float in2[16], out2[4];
  for (int i = 0; i < 16; i++) in2[i] = (float)i;
  adx_image_resize(in2, 1, 4, 4, 2, 2, 0, 0, out2, 2, 2);
  assert_close(out2, (const float[]){2.5f, 4.5f, 10.5f, 12.5f}, 4, 0);
}

static void test_geometry_resize_crop(void **state) {
  (void)state;
  adx_preproc p;
  adx_error err = {0};
  adx_preproc_default(&p);
  /* 4x8 arange: resize(2) -> 2x4 = [[4.5, 6.5, 8.5, 10.5], [20.5, 22.5, 24.5, 26.5]] (torch); centre crop 2
   * keeps columns 1..2 */
  float v[32];
  for (int i = 0; i < 32; i++) v[i] = (float)i;
  adx_image im = make(1, 4, 8, v), out;
  p.resize = 2;
  p.crop_h = p.crop_w = 2;
  assert_int_equal(adx_preproc_geometry(&p, &im, 1, 2, 2, &out, &err), ADX_OK);
  assert_close(out.data, (const float[]){6.5f, 8.5f, 22.5f, 24.5f}, 4, 0);
  adx_image_free(&out);
  p.crop_h = p.crop_w = 0;
  assert_int_equal(adx_preproc_geometry(&p, &im, 1, 2, 4, &out, &err), ADX_OK);
  assert_close(out.data, (const float[]){4.5f, 6.5f, 8.5f, 10.5f, 20.5f, 22.5f, 24.5f, 26.5f}, 8, 0);
  adx_image_free(&out);
  adx_image_free(&im);

  /* torchvision TF.resize(arange(35).reshape(1, 7, 5), 3, antialias=False): 7x5 -> 4x3 (long side int(3*7/5))
   */
  float v35[35];
  for (int i = 0; i < 35; i++) v35[i] = (float)i;
  im = make(1, 7, 5, v35);
  p.resize = 3;
  assert_int_equal(adx_preproc_geometry(&p, &im, 1, 4, 3, &out, &err), ADX_OK);
  assert_close(out.data,
               (const float[]){2.208333254f, 3.874999762f, 5.541666508f, 10.95833397f, 12.625f, 14.29166698f,
                               19.70833397f, 21.375f, 23.04166603f, 28.45833397f, 30.12499809f, 31.79166603f},
               12, 2e-5);
  adx_image_free(&out);
  adx_image_free(&im);
}

static void test_centre_crop_offsets(void **state) {
  (void)state;
  /* torchvision center_crop of arange(25).reshape(5,5) to 2x2 gives [[12,13],[17,18]] (offset round(1.5) = 2)
   * and of arange(49).reshape(7,7) gives [[16,17],[23,24]] (offset round(2.5) = 2, ties to even) */
  adx_preproc p;
  adx_error err = {0};
  adx_preproc_default(&p);
  p.crop_h = p.crop_w = 2;
  float v[49];
  for (int i = 0; i < 49; i++) v[i] = (float)i;
  adx_image im = make(1, 5, 5, v), out;
  assert_int_equal(adx_preproc_geometry(&p, &im, 1, 2, 2, &out, &err), ADX_OK);
  assert_close(out.data, (const float[]){12, 13, 17, 18}, 4, 0);
  adx_image_free(&out);
  adx_image_free(&im);
  im = make(1, 7, 7, v);
  assert_int_equal(adx_preproc_geometry(&p, &im, 1, 2, 2, &out, &err), ADX_OK);
  assert_close(out.data, (const float[]){16, 17, 23, 24}, 4, 0);
  adx_image_free(&out);
  adx_image_free(&im);
}

static void test_channels(void **state) {
  (void)state;
  adx_preproc p;
  adx_error err = {0};
  adx_preproc_default(&p);
  /* grey -> 3 identical planes */
  adx_image g = make(1, 2, 2, (const float[]){1, 2, 3, 4}), out;
  assert_int_equal(adx_preproc_geometry(&p, &g, 3, 2, 2, &out, &err), ADX_OK);
  assert_int_equal(out.channels, 3);
  assert_close(out.data, (const float[]){1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}, 12, 0);
  adx_image_free(&out);
  adx_image_free(&g);
  /* RGB -> grey: BT.601, 0.299*100 + 0.587*50 + 0.114*200 = 82.05; 0.299*255 + 0.587*255 + 0.114*255 = 255 */
  adx_image c = make(3, 1, 2, (const float[]){100, 255, 50, 255, 200, 255}), o1;
  assert_int_equal(adx_preproc_geometry(&p, &c, 1, 1, 2, &o1, &err), ADX_OK);
  assert_int_equal(o1.channels, 1);
  assert_close(o1.data, (const float[]){82.05f, 255.0f}, 2, 1e-4);
  adx_image_free(&o1);
  /* RGB -> RGB unchanged */
  assert_int_equal(adx_preproc_geometry(&p, &c, 3, 1, 2, &o1, &err), ADX_OK);
  assert_close(o1.data, c.data, 6, 0);
  adx_image_free(&o1);
  /* RGB -> 2 channels: no rule */
  assert_int_equal(adx_preproc_geometry(&p, &c, 2, 1, 2, &o1, &err), ADX_ERR_SHAPE);
  assert_null(o1.data);
  /* three means for a one-channel model */
  p.norm.nmean = 3;
  assert_int_equal(adx_preproc_geometry(&p, &c, 1, 1, 2, &o1, &err), ADX_ERR_ARG);
  assert_non_null(strstr(err.msg, "mean"));
  adx_image_free(&c);
}

static void test_size_errors(void **state) {
  (void)state;
  adx_preproc p;
  adx_error err = {0};
  adx_preproc_default(&p);
  adx_image im, out;
  adx_image_alloc(&im, 1, 28, 30, &err);
  /* no resize/crop configured: no implicit stretch */
  assert_int_equal(adx_preproc_geometry(&p, &im, 1, 32, 32, &out, &err), ADX_ERR_SHAPE);
  assert_non_null(strstr(err.msg, "28x30"));
  assert_non_null(strstr(err.msg, "32x32"));
  /* the crop fixes it */
  p.crop_h = p.crop_w = 28;
  assert_int_equal(adx_preproc_geometry(&p, &im, 1, 28, 28, &out, &err), ADX_OK);
  adx_image_free(&out);
  /* crop larger than the image */
  p.crop_h = p.crop_w = 29;
  assert_int_equal(adx_preproc_geometry(&p, &im, 1, 29, 29, &out, &err), ADX_ERR_SHAPE);
  assert_non_null(strstr(err.msg, "29x29"));
  /* resize + crop that ends at the wrong size */
  p.resize = 64;
  p.crop_h = p.crop_w = 56;
  assert_int_equal(adx_preproc_geometry(&p, &im, 1, 28, 28, &out, &err), ADX_ERR_SHAPE);
  assert_non_null(strstr(err.msg, "56x56"));
  assert_null(out.data);
  adx_image_free(&im);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_and_set),
      cmocka_unit_test(test_normalize),
      cmocka_unit_test(test_resize_2x2_to_4x4),
      cmocka_unit_test(test_resize_torch),
      cmocka_unit_test(test_geometry_resize_crop),
      cmocka_unit_test(test_centre_crop_offsets),
      cmocka_unit_test(test_channels),
      cmocka_unit_test(test_size_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
