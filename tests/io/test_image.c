/* PNG/JPEG decoding. Expected pixels come from the formulas that scripts/make_bad_images.py used to
 * write the images (repeated below; PIL decodes the same values), from Fashion-MNIST's raw bytes for the
 * fixture PNGs, and from the flat colours of the JPEGs (+-1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "adx/io.h"
#include "common/testutil.h"

static const int palette[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};

static float px(const adx_image *im, int c, int y, int x) {
  return im->data[((size_t)c * im->height + y) * im->width + x];
}

static void load_ok(const char *rel, adx_image *im, int w, int h, int c) {
  char path[1024];
  adx_error err = {0};
  adx_status s = adx_image_load(tu_data(path, sizeof path, rel), NULL, im, &err);
  if (s) fail_msg("%s: %s", rel, err.msg);
  assert_int_equal(im->width, w);
  assert_int_equal(im->height, h);
  assert_int_equal(im->channels, c);
}

static void test_fashion_pngs(void **state) {
  (void)state;
  char path[1024];
  adx_tensor ref = {0};
  adx_error err = {0};
  if (access(tu_data(path, sizeof path, "fashion_test32_images.npy"), R_OK) != 0) skip();
  assert_int_equal(adx_npy_load(path, &ref, &err), ADX_OK);
  assert_int_equal(ref.ndim, 3);
  for (int i = 0; i < 8; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "img/fashion_%d.png", i);
    adx_image im;
    load_ok(rel, &im, 28, 28, 1);
    /* raw 0..255 values, exactly the bytes of the t10k image */
    for (int k = 0; k < 28 * 28; k++) assert_true(im.data[k] == adx_f32(&ref)[i * 784 + k]);
    adx_image_free(&im);
  }
  adx_tensor_free(&ref);
}

static void test_png_interlaced(void **state) {
  (void)state;
  adx_image im;
  load_ok("img/io/grey8_adam7.png", &im, 9, 7, 1);
  for (int y = 0; y < 7; y++)
    for (int x = 0; x < 9; x++) assert_true(px(&im, 0, y, x) == (float)((29 * x + 53 * y) & 255));
  adx_image_free(&im);
  load_ok("img/io/rgb8_adam7.png", &im, 10, 6, 3);
  for (int y = 0; y < 6; y++)
    for (int x = 0; x < 10; x++) {
      assert_true(px(&im, 0, y, x) == (float)((20 * x + y) & 255));
      assert_true(px(&im, 1, y, x) == (float)((7 * x + 40 * y + 3) & 255));
      assert_true(px(&im, 2, y, x) == (float)((x * x + 5 * y * y) & 255));
    }
  adx_image_free(&im);
}

static void test_png_16bit(void **state) {
  (void)state;
  adx_image im;
  load_ok("img/io/grey16.png", &im, 5, 4, 1);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 5; x++)
      assert_float_equal(px(&im, 0, y, x), (13107.0 * x + 4369.0 * y) / 257.0, 1e-4);
  assert_true(px(&im, 0, 3, 4) == 255.0f); /* 65535 -> exactly 255 */
  assert_true(px(&im, 0, 0, 0) == 0.0f);
  adx_image_free(&im);
  load_ok("img/io/rgb16.png", &im, 3, 2, 3);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 3; x++) {
      double r = 30000.0 * x + 5000.0 * y;
      assert_float_equal(px(&im, 0, y, x), r / 257.0, 1e-4);
      assert_float_equal(px(&im, 1, y, x), (65535.0 - r) / 257.0, 1e-4);
      assert_float_equal(px(&im, 2, y, x), (double)(x + y), 1e-4);
    }
  adx_image_free(&im);
}

static void test_png_low_depth_and_trns(void **state) {
  (void)state;
  adx_image im;
  load_ok("img/io/grey1.png", &im, 10, 3, 1);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 10; x++) assert_true(px(&im, 0, y, x) == ((x + y) % 2 ? 255.0f : 0.0f));
  adx_image_free(&im);
  load_ok("img/io/grey8_trns.png", &im, 4, 2, 1);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 4; x++) assert_true(px(&im, 0, y, x) == (float)(40 * x + 100 * y));
  adx_image_free(&im);
}

static void test_png_palette(void **state) {
  (void)state;
  adx_image im;
  load_ok("img/io/palette8.png", &im, 6, 5, 3); /* with tRNS: alpha is dropped */
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 6; x++)
      for (int c = 0; c < 3; c++) assert_true(px(&im, c, y, x) == (float)palette[(x + 2 * y) % 4][c]);
  adx_image_free(&im);
  load_ok("img/io/palette2.png", &im, 7, 3, 3);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 7; x++)
      for (int c = 0; c < 3; c++) assert_true(px(&im, c, y, x) == (float)palette[(x * y) % 4][c]);
  adx_image_free(&im);
}

static void test_png_alpha_ignored(void **state) {
  (void)state;
  adx_image im;
  load_ok("img/io/grey_alpha.png", &im, 4, 4, 1);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) assert_true(px(&im, 0, y, x) == (float)(60 * x + 3 * y));
  adx_image_free(&im);
  load_ok("img/io/rgba.png", &im, 5, 3, 3);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 5; x++) {
      assert_true(px(&im, 0, y, x) == (float)(50 * x));
      assert_true(px(&im, 1, y, x) == (float)(100 * y));
      assert_true(px(&im, 2, y, x) == (float)(20 * (x + y)));
    }
  adx_image_free(&im);
}

static void check_flat(const char *rel, int w, int h, int c, const int *rgb) {
  adx_image im;
  load_ok(rel, &im, w, h, c);
  for (int k = 0; k < c; k++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) assert_float_equal(px(&im, k, y, x), rgb[k], 1.0);
  adx_image_free(&im);
}

static void test_jpeg(void **state) {
  (void)state;
  check_flat("img/io/flat_rgb.jpg", 16, 16, 3, (const int[]){200, 100, 50});
  check_flat("img/io/flat_grey.jpg", 8, 8, 1, (const int[]){77});
  check_flat("img/io/flat_prog.jpg", 24, 16, 3, (const int[]){30, 60, 90});
}

static void expect_fail(const char *rel, adx_status code) {
  char path[1024];
  adx_error err = {0};
  adx_image im;
  memset(&im, 0x55, sizeof im);
  adx_status s = adx_image_load(tu_data(path, sizeof path, rel), NULL, &im, &err);
  if (s != code)
    fail_msg("%s: expected %s, got %s (%s)", rel, adx_status_name(code), adx_status_name(s), err.msg);
  assert_int_equal(err.code, code);
  assert_non_null(strstr(err.msg, path)); /* the message names the file */
  assert_null(im.data);                   /* nothing to free on failure */
  assert_int_equal(im.width, 0);
}

static void test_bad_images(void **state) {
  (void)state;
  expect_fail("img/bad/truncated.png", ADX_ERR_FORMAT);
  expect_fail("img/bad/truncated.jpg", ADX_ERR_FORMAT);
  expect_fail("img/bad/corrupt.jpg", ADX_ERR_FORMAT);
  expect_fail("img/bad/huge.png", ADX_ERR_LIMIT);
  expect_fail("img/bad/huge.jpg", ADX_ERR_LIMIT);
  expect_fail("img/bad/zero_width.png", ADX_ERR_FORMAT);
  expect_fail("img/bad/bad_crc.png", ADX_ERR_FORMAT);
  expect_fail("img/bad/not_an_image.png", ADX_ERR_FORMAT);
  expect_fail("img/bad/empty.png", ADX_ERR_FORMAT);
  expect_fail("img/io/cmyk.jpg", ADX_ERR_UNSUPPORTED);
  expect_fail("img/bad/no_such_file.png", ADX_ERR_IO);
  expect_fail("img", ADX_ERR_IO); /* a directory */
}

static void test_limits(void **state) {
  (void)state;
  char path[1024];
  adx_error err = {0};
  adx_image im;
  adx_image_limits lim;
  adx_image_limits_default(&lim);
  assert_int_equal(lim.max_pixels, 100000000);
  lim.max_pixels = 62; /* grey8_adam7 is 9x7 = 63 */
  assert_int_equal(adx_image_load(tu_data(path, sizeof path, "img/io/grey8_adam7.png"), &lim, &im, &err),
                   ADX_ERR_LIMIT);
  assert_non_null(strstr(err.msg, "9x7"));
  lim.max_pixels = 63;
  assert_int_equal(adx_image_load(path, &lim, &im, &err), ADX_OK);
  adx_image_free(&im);
  lim.max_pixels = 15 * 15; /* flat_rgb.jpg is 16x16 */
  assert_int_equal(adx_image_load(tu_data(path, sizeof path, "img/io/flat_rgb.jpg"), &lim, &im, &err),
                   ADX_ERR_LIMIT);
  adx_image_limits_default(&lim);
  lim.max_file_bytes = 100;
  assert_int_equal(adx_image_load(path, &lim, &im, &err), ADX_ERR_LIMIT);
  /* the default cap refuses huge.png from its header, naming the declared size */
  adx_image_limits_default(&lim);
  assert_int_equal(adx_image_load(tu_data(path, sizeof path, "img/bad/huge.png"), &lim, &im, &err),
                   ADX_ERR_LIMIT);
  assert_non_null(strstr(err.msg, "100000x100000"));
}

/* put a big-endian u32 */
static void be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
  p[3] = (unsigned char)v;
}

/* A chunk that declares more bytes than the file holds is refused before libpng allocates for it: the
 * png fuzz target found a 123-byte file whose sPLT chunk declared 0x73737373 bytes, and libpng 1.6.39
 * allocated 1.9 GB for it. The file here is built by hand from the PNG spec: signature, a valid 7x3
 * IHDR (CRC from zlib), then an sPLT header declaring 0x73737373 bytes with 4 bytes behind it. */
static void test_chunk_longer_than_file(void **state) {
  (void)state;
  unsigned char f[8 + 25 + 12];
  memcpy(f, "\x89PNG\r\n\x1a\n", 8);
  be32(f + 8, 13);
  memcpy(f + 12, "IHDR", 4);
  be32(f + 16, 7);
  be32(f + 20, 3);
  memcpy(f + 24, "\x08\x00\x00\x00\x00", 5); /* depth 8, grey, deflate, no filter method, no interlace */
  be32(f + 29, (uint32_t)crc32(0, f + 12, 17));
  be32(f + 33, 0x73737373u);
  memcpy(f + 37, "sPLT", 4);
  memcpy(f + 41, "ssss", 4);
  adx_error err = {0};
  adx_image im;
  memset(&im, 0x55, sizeof im);
  assert_int_equal(adx_image_decode(f, sizeof f, "splt.png", NULL, &im, &err), ADX_ERR_FORMAT);
  assert_null(im.data);
  /* byte 33 = 8 (signature) + 25 (IHDR); 0x73737373 = 1936946035; 45 - 33 - 8 = 4 bytes left */
  assert_non_null(strstr(err.msg,
                         "splt.png: corrupt or truncated PNG: chunk 'sPLT' at byte 33 declares 1936946035 "
                         "bytes, the file has 4 left"));
  /* the same header declaring 0 bytes (data fits, CRC wrong) reaches libpng, which refuses it its own way */
  be32(f + 33, 0);
  assert_int_equal(adx_image_decode(f, sizeof f - 4 + 4, "splt0.png", NULL, &im, &err), ADX_ERR_FORMAT);
  assert_null(strstr(err.msg, "declares"));
}

static void test_decode_memory(void **state) {
  (void)state;
  adx_error err = {0};
  adx_image im;
  assert_int_equal(adx_image_decode("", 0, "mem", NULL, &im, &err), ADX_ERR_FORMAT);
  assert_int_equal(adx_image_decode("GIF89a....", 10, "mem", NULL, &im, &err), ADX_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "mem"));
  /* a PNG signature alone, a JPEG SOI alone */
  assert_int_equal(adx_image_decode("\x89PNG\r\n\x1a\n", 8, "sig", NULL, &im, &err), ADX_ERR_FORMAT);
  assert_int_equal(adx_image_decode("\xff\xd8\xff", 3, "soi", NULL, &im, &err), ADX_ERR_FORMAT);
}

static void test_save_png_roundtrip(void **state) {
  (void)state;
  char tmpl[] = "/tmp/adx_test_png_XXXXXX";
  int fd = mkstemp(tmpl);
  assert_true(fd >= 0);
  close(fd);
  adx_error err = {0};
  enum { W = 7, H = 5 };
  uint8_t pix[W * H * 4];
  for (int ch = 1; ch <= 4; ch++) {
    for (int i = 0; i < W * H * ch; i++) pix[i] = (uint8_t)(i * 37 + ch);
    assert_int_equal(adx_image_save_png(tmpl, pix, W, H, ch, &err), ADX_OK);
    adx_image im;
    assert_int_equal(adx_image_load(tmpl, NULL, &im, &err), ADX_OK);
    int colour = ch >= 3;
    assert_int_equal(im.channels, colour ? 3 : 1);
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        for (int c = 0; c < im.channels; c++)
          assert_true(px(&im, c, y, x) == (float)pix[(y * W + x) * ch + c]);
    adx_image_free(&im);
  }
  assert_int_equal(adx_image_save_png(tmpl, pix, W, H, 5, &err), ADX_ERR_ARG);
  assert_int_equal(adx_image_save_png("/nonexistent-dir/x.png", pix, W, H, 1, &err), ADX_ERR_IO);
  assert_non_null(strstr(err.msg, "/nonexistent-dir/x.png"));
  unlink(tmpl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fashion_pngs),
      cmocka_unit_test(test_png_interlaced),
      cmocka_unit_test(test_png_16bit),
      cmocka_unit_test(test_png_low_depth_and_trns),
      cmocka_unit_test(test_png_palette),
      cmocka_unit_test(test_png_alpha_ignored),
      cmocka_unit_test(test_jpeg),
      cmocka_unit_test(test_bad_images),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_decode_memory),
      cmocka_unit_test(test_chunk_longer_than_file),
      cmocka_unit_test(test_save_png_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
