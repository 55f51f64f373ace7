/* Dataset readers (idx, folder, hdf5, list) and selection. Expected pixels and labels come from the
 * Fashion-MNIST fixtures (tests/data/fashion_test32_*.npy, written by numpy from the same IDX file) and
 * from scripts/make_dataset_fixtures.py (numpy, PIL for the JPEG, PyTorch for the resized image). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adx/dataset.h"
#include "adx/io.h"
#include "common/testutil.h"

#define FASHION "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static const char *ds(char *buf, size_t len, const char *rel) {
  char tmp[512];
  snprintf(tmp, sizeof tmp, "datasets/%s", rel);
  return tu_data(buf, len, tmp);
}

static void load_npy(const char *rel, adx_tensor *t) {
  char p[512];
  TU_OK(adx_npy_load(ds(p, sizeof p, rel), t, err));
}

static void expect_err(adx_status got, const adx_error *e, adx_status want, const char *needle) {
  if (got != want) fail_msg("expected %s, got %s: %s", adx_status_name(want), adx_status_name(got), e->msg);
  if (needle && !strstr(e->msg, needle)) fail_msg("message '%s' does not mention '%s'", e->msg, needle);
}

static adx_dataset *open_ok(const char *path, const adx_preproc *pp, int C, int H, int W) {
  adx_dataset *d = NULL;
  adx_error e = {0};
  adx_status s = adx_dataset_open(path, pp, C, H, W, &d, &e);
  if (s) fail_msg("open %s: %s", path, e.msg);
  assert_non_null(d);
  return d;
}

/* Compare item i of d with row r of an expected [N,...] tensor. */
static void expect_item(adx_dataset *d, int64_t i, const adx_tensor *want, int64_t r, double tol,
                        int32_t want_label) {
  size_t per = (size_t)(adx_tensor_numel(want) / want->dims[0]);
  float *raw = malloc(sizeof(float) * per);
  int32_t label = -7;
  TU_OK(adx_dataset_get(d, i, raw, &label, err));
  double diff = tu_max_abs_diff(raw, adx_f32(want) + (size_t)r * per, per);
  if (diff > tol) fail_msg("item %lld: max |diff| %g > %g", (long long)i, diff, tol);
  assert_int_equal(label, want_label);
  assert_int_equal(adx_dataset_label(d, i), want_label);
  free(raw);
}

static int fashion_available(void) { return access(FASHION, R_OK) == 0; }

/* ------------------------------------------------------------------ idx */

static void test_idx_fashion(void **state) {
  if (!fashion_available()) skip();
  adx_tensor imgs = {0}, labels = {0};
  char p[512];
  TU_OK(adx_npy_load(tu_data(p, sizeof p, "fashion_test32_images.npy"), &imgs, err));
  TU_OK(adx_npy_load(tu_data(p, sizeof p, "fashion_test32_labels.npy"), &labels, err));
  adx_dataset *d = open_ok(FASHION, NULL, 1, 28, 28);
  assert_string_equal(adx_dataset_kind(d), "idx");
  assert_int_equal(adx_dataset_size(d), 10000);
  assert_int_equal(adx_dataset_nclasses(d), 10);
  assert_null(adx_dataset_class_name(d, 0));
  assert_int_equal(adx_i64(&labels)[0], 9);
  expect_item(d, 0, &imgs, 0, 0, 9);
  expect_item(d, 31, &imgs, 31, 0, (int32_t)adx_i64(&labels)[31]);
  char name[600];
  assert_string_equal(adx_dataset_item_name(d, 5, name, sizeof name), FASHION "[5]");
  adx_dataset_close(d);

  /* a 3-channel model: the grey image replicated */
  d = open_ok(FASHION, NULL, 3, 28, 28);
  float *raw = malloc(sizeof(float) * 3 * 784);
  int32_t label;
  TU_OK(adx_dataset_get(d, 0, raw, &label, err));
  for (int c = 0; c < 3; c++) assert_true(tu_max_abs_diff(raw + c * 784, adx_f32(&imgs), 784) == 0);
  assert_int_equal(label, 9);
  free(raw);
  adx_dataset_close(d);
  adx_tensor_free(&imgs);
  adx_tensor_free(&labels);
}

static void test_idx_tiny_gz(void **state) {
  char p[512];
  adx_tensor c1 = {0}, c3 = {0};
  load_npy("idx_tiny_c1.npy", &c1);
  load_npy("idx_tiny_c3.npy", &c3);
  adx_dataset *d = open_ok(ds(p, sizeof p, "idx/tiny-images-idx3-ubyte.gz"), NULL, 1, 4, 5);
  assert_string_equal(adx_dataset_kind(d), "idx");
  assert_int_equal(adx_dataset_size(d), 3);
  assert_int_equal(adx_dataset_nclasses(d), 8); /* labels 3, 0, 7 */
  const int32_t want[3] = {3, 0, 7};
  for (int i = 0; i < 3; i++) expect_item(d, i, &c1, i, 0, want[i]);
  adx_dataset_close(d);
  d = open_ok(p, NULL, 3, 4, 5);
  for (int i = 0; i < 3; i++) expect_item(d, i, &c3, i, 0, want[i]);
  adx_dataset_close(d);
  adx_tensor_free(&c1);
  adx_tensor_free(&c3);
}

static void test_idx_plain_no_labels(void **state) {
  char p[512];
  adx_tensor c1 = {0};
  load_npy("idx_tiny_c1.npy", &c1);
  adx_dataset *d = open_ok(ds(p, sizeof p, "idx/nolabels-images-idx3-ubyte"), NULL, 1, 4, 5);
  assert_int_equal(adx_dataset_size(d), 3);
  assert_int_equal(adx_dataset_nclasses(d), 0);
  for (int i = 0; i < 3; i++) expect_item(d, i, &c1, i, 0, -1);
  adx_dataset_close(d);

  /* centre crop 4x4 of the 4x5 images: left offset round(0.5) = 0 (ties to even, as torchvision) */
  adx_preproc pp;
  adx_preproc_default(&pp);
  TU_OK(adx_preproc_set(&pp, "crop", "4", err));
  d = open_ok(p, &pp, 1, 4, 4);
  float raw[16];
  TU_OK(adx_dataset_get(d, 2, raw, NULL, err));
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) assert_true(raw[y * 4 + x] == adx_f32(&c1)[2 * 20 + y * 5 + x]);
  adx_dataset_close(d);
  adx_tensor_free(&c1);
}

static void test_idx_rgb(void **state) {
  char p[512];
  adx_tensor c1 = {0}, c3 = {0};
  load_npy("idx_rgb_c1.npy", &c1);
  load_npy("idx_rgb_c3.npy", &c3);
  adx_dataset *d = open_ok(ds(p, sizeof p, "idx/rgb-images-idx4-ubyte"), NULL, 3, 4, 5);
  assert_int_equal(adx_dataset_size(d), 2);
  assert_int_equal(adx_dataset_nclasses(d), 5);
  expect_item(d, 0, &c3, 0, 0, 1);
  expect_item(d, 1, &c3, 1, 0, 4);
  adx_dataset_close(d);
  d = open_ok(p, NULL, 1, 4, 5); /* RGB -> BT.601 luma */
  expect_item(d, 0, &c1, 0, 1e-3, 1);
  expect_item(d, 1, &c1, 1, 1e-3, 4);
  adx_dataset_close(d);
  adx_tensor_free(&c1);
  adx_tensor_free(&c3);
}

static void test_idx_errors(void **state) {
  char p[512];
  adx_dataset *d = (adx_dataset *)1;
  adx_error e = {0};
  /* 3 images, 2 labels: both files named */
  adx_status s = adx_dataset_open(ds(p, sizeof p, "idx/mismatch-images-idx3-ubyte"), NULL, 1, 4, 5, &d, &e);
  expect_err(s, &e, ADX_ERR_FORMAT, "mismatch-labels-idx1-ubyte");
  expect_err(s, &e, ADX_ERR_FORMAT, "mismatch-images-idx3-ubyte");
  assert_null(d);
  /* truncated plain and gzipped data */
  s = adx_dataset_open(ds(p, sizeof p, "idx/trunc-images-idx3-ubyte"), NULL, 1, 4, 5, &d, &e);
  expect_err(s, &e, ADX_ERR_FORMAT, "trunc-images-idx3-ubyte");
  s = adx_dataset_open(ds(p, sizeof p, "idx/gztrunc-images-idx3-ubyte.gz"), NULL, 1, 16, 16, &d, &e);
  expect_err(s, &e, ADX_ERR_FORMAT, "gztrunc-images-idx3-ubyte.gz");
  /* 4x5 images for a 28x28 model without resize/crop: a shape error at open, naming the file */
  s = adx_dataset_open(ds(p, sizeof p, "idx/tiny-images-idx3-ubyte.gz"), NULL, 1, 28, 28, &d, &e);
  expect_err(s, &e, ADX_ERR_SHAPE, "tiny-images-idx3-ubyte.gz");
  /* limits, checked from the header */
  adx_dataset_limits lim = {0};
  lim.max_image_elems = 19;
  s = adx_dataset_open_ex(p, NULL, 1, 4, 5, &lim, &d, &e);
  expect_err(s, &e, ADX_ERR_LIMIT, "tiny-images-idx3-ubyte.gz");
  lim.max_image_elems = 0;
  lim.max_bytes = 59;
  s = adx_dataset_open_ex(p, NULL, 1, 4, 5, &lim, &d, &e);
  expect_err(s, &e, ADX_ERR_LIMIT, "tiny-images-idx3-ubyte.gz");
  lim.max_bytes = 60; /* exactly the data: accepted */
  TU_OK(adx_dataset_open_ex(p, NULL, 1, 4, 5, &lim, &d, err));
  adx_dataset_close(d);

  /* an absurd declared size is refused before allocating */
  char tmp[] = "/tmp/adx_test_ds_XXXXXX";
  int fd = mkstemp(tmp);
  assert_true(fd >= 0);
  const unsigned char hdr[16] = {0,    0,    8,    3,    0x7f, 0xff, 0xff, 0xff,
                                 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff};
  assert_int_equal(write(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
  close(fd);
  s = adx_dataset_open(tmp, NULL, 1, 4, 5, &d, &e);
  expect_err(s, &e, ADX_ERR_LIMIT, tmp);
  /* 1 x 50000 x 50000: under the 4 GiB byte limit but over 2^31 elements per image, refused from the
   * header (the file holds no pixel data: a FORMAT error would mean it was allocated and read) */
  FILE *f = fopen(tmp, "wb");
  const unsigned char big[16] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0xc3, 0x50, 0, 0, 0xc3, 0x50};
  fwrite(big, 1, sizeof big, f);
  fclose(f);
  s = adx_dataset_open(tmp, NULL, 1, 4, 5, &d, &e);
  expect_err(s, &e, ADX_ERR_LIMIT, "element limit");
  /* a zero dimension */
  f = fopen(tmp, "wb");
  const unsigned char zero[16] = {0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 5};
  fwrite(zero, 1, sizeof zero, f);
  fclose(f);
  s = adx_dataset_open(tmp, NULL, 1, 4, 5, &d, &e);
  expect_err(s, &e, ADX_ERR_FORMAT, "zero");
  /* trailing bytes after the declared data */
  f = fopen(tmp, "wb");
  const unsigned char small[16 + 2] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 42, 43};
  fwrite(small, 1, sizeof small, f);
  fclose(f);
  s = adx_dataset_open(tmp, NULL, 1, 1, 1, &d, &e);
  expect_err(s, &e, ADX_ERR_FORMAT, "trailing");
  /* IDX of 32-bit ints: unsupported */
  f = fopen(tmp, "wb");
  const unsigned char ints[12 + 4] = {0, 0, 0x0C, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5};
  fwrite(ints, 1, sizeof ints, f);
  fclose(f);
  s = adx_dataset_open(tmp, NULL, 1, 1, 1, &d, &e);
  expect_err(s, &e, ADX_ERR_UNSUPPORTED, tmp);
  /* a 2-D IDX is not an image set */
  f = fopen(tmp, "wb");
  const unsigned char two[12 + 1] = {0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 1, 5};
  fwrite(two, 1, sizeof two, f);
  fclose(f);
  s = adx_dataset_open(tmp, NULL, 1, 1, 1, &d, &e);
  expect_err(s, &e, ADX_ERR_FORMAT, tmp);
  unlink(tmp);
}

static void test_idx_labels_path(void **state) {
  char buf[600];
  if (fashion_available()) {
    assert_int_equal(adx_idx_labels_path(FASHION, buf, sizeof buf), 0);
    assert_string_equal(buf, "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
  }
  char p[512];
  assert_int_equal(adx_idx_labels_path(ds(p, sizeof p, "idx/rgb-images-idx4-ubyte"), buf, sizeof buf), 0);
  assert_non_null(strstr(buf, "idx/rgb-labels-idx1-ubyte"));
  assert_int_equal(adx_idx_labels_path(ds(p, sizeof p, "idx/nolabels-images-idx3-ubyte"), buf, sizeof buf),
                   -1);
  assert_int_equal(adx_idx_labels_path("/nowhere/images.bin", buf, sizeof buf), -1);
  assert_int_equal(adx_idx_labels_path(FASHION, buf, 8), -1); /* buffer too small */
}

/* ------------------------------------------------------------------ folder */

static void test_folder(void **state) {
  char p[512], name[1024];
  adx_tensor c1 = {0}, c3 = {0};
  load_npy("folder_c1.npy", &c1);
  load_npy("folder_c3.npy", &c3);
  adx_dataset *d = open_ok(ds(p, sizeof p, "folder"), NULL, 3, 8, 8);
  assert_string_equal(adx_dataset_kind(d), "folder");
  /* hidden class folder, hidden file, README and notes.txt are skipped */
  assert_int_equal(adx_dataset_size(d), 4);
  assert_int_equal(adx_dataset_nclasses(d), 2);
  assert_string_equal(adx_dataset_class_name(d, 0), "cat");
  assert_string_equal(adx_dataset_class_name(d, 1), "dog");
  assert_null(adx_dataset_class_name(d, 2));
  assert_null(adx_dataset_class_name(d, -1));
  const char *files[4] = {"cat/a.png", "cat/b.png", "dog/c.PNG", "dog/d.jpeg"};
  const int32_t labels[4] = {0, 0, 1, 1};
  for (int i = 0; i < 4; i++) {
    char want[1024];
    snprintf(want, sizeof want, "%s/%s", p, files[i]);
    assert_string_equal(adx_dataset_item_name(d, i, name, sizeof name), want);
    expect_item(d, i, &c3, i, i == 3 ? 1.0 : 0.0, labels[i]);
  }
  adx_dataset_close(d);
  d = open_ok(p, NULL, 1, 8, 8);
  for (int i = 0; i < 4; i++) expect_item(d, i, &c1, i, i == 3 ? 1.0 : 1e-3, labels[i]);
  float raw[64];
  adx_error e = {0};
  expect_err(adx_dataset_get(d, 4, raw, NULL, &e), &e, ADX_ERR_ARG, "out of range");
  expect_err(adx_dataset_get(d, -1, raw, NULL, &e), &e, ADX_ERR_ARG, "out of range");
  adx_dataset_close(d);
  adx_tensor_free(&c1);
  adx_tensor_free(&c3);
}

static void test_folder_sizes(void **state) {
  char p[512];
  adx_tensor want = {0};
  load_npy("sizes_big_resized.npy", &want);
  adx_dataset *d = open_ok(ds(p, sizeof p, "sizes"), NULL, 1, 8, 8);
  assert_int_equal(adx_dataset_size(d), 2);
  float raw[64];
  TU_OK(adx_dataset_get(d, 0, raw, NULL, err));
  adx_error e = {0};
  /* 10x12 image, 8x8 model, no resize/crop: a shape error naming the file */
  expect_err(adx_dataset_get(d, 1, raw, NULL, &e), &e, ADX_ERR_SHAPE, "sizes/only/b_big.png");
  adx_dataset_close(d);

  adx_preproc pp;
  adx_preproc_default(&pp);
  TU_OK(adx_preproc_set(&pp, "resize", "8", err));
  TU_OK(adx_preproc_set(&pp, "crop", "8", err));
  d = open_ok(p, &pp, 1, 8, 8);
  TU_OK(adx_dataset_get(d, 1, raw, NULL, err));
  assert_true(tu_max_abs_diff(raw, adx_f32(&want), 64) < 1e-3);
  TU_OK(adx_dataset_get(d, 0, raw, NULL, err));
  adx_dataset_close(d);
  adx_tensor_free(&want);
}

static void mkdir_ok(const char *p) { assert_int_equal(mkdir(p, 0700), 0); }

static void test_folder_tree_rules(void **state) {
  char fix[512], abs_fix[PATH_MAX], root[] = "/tmp/adx_test_dsdir_XXXXXX", p[PATH_MAX + 64], q[PATH_MAX + 64];
  assert_non_null(realpath(ds(fix, sizeof fix, "folder"), abs_fix));
  assert_non_null(mkdtemp(root));
  adx_error e = {0};
  adx_dataset *d = NULL;
  /* no class folders at all */
  expect_err(adx_dataset_open(root, NULL, 1, 8, 8, &d, &e), &e, ADX_ERR_FORMAT, root);
  /* "Zeta" sorts before "alpha" (bytewise); "empty" holds no image but is still class 1 */
  snprintf(p, sizeof p, "%s/Zeta", root), mkdir_ok(p);
  snprintf(p, sizeof p, "%s/alpha", root), mkdir_ok(p);
  snprintf(p, sizeof p, "%s/empty", root), mkdir_ok(p);
  /* class folders with only non-images: a format error */
  expect_err(adx_dataset_open(root, NULL, 1, 8, 8, &d, &e), &e, ADX_ERR_FORMAT, "no .png/.jpg/.jpeg images");
  /* a symlink to an image is followed, a dangling one and a symlinked folder are not, nor subfolders */
  snprintf(p, sizeof p, "%s/Zeta/link.png", root);
  snprintf(q, sizeof q, "%s/cat/a.png", abs_fix);
  assert_int_equal(symlink(q, p), 0);
  snprintf(p, sizeof p, "%s/Zeta/dangling.png", root);
  assert_int_equal(symlink("/nonexistent/x.png", p), 0);
  snprintf(p, sizeof p, "%s/Zeta/sub.png", root), mkdir_ok(p);
  snprintf(p, sizeof p, "%s/alpha/img.JPG", root);
  snprintf(q, sizeof q, "%s/dog/d.jpeg", abs_fix);
  assert_int_equal(symlink(q, p), 0);
  snprintf(p, sizeof p, "%s/linked", root);
  snprintf(q, sizeof q, "%s/dog", abs_fix);
  assert_int_equal(symlink(q, p), 0);
  d = open_ok(root, NULL, 1, 8, 8);
  assert_int_equal(adx_dataset_nclasses(d), 3);
  assert_string_equal(adx_dataset_class_name(d, 0), "Zeta");
  assert_string_equal(adx_dataset_class_name(d, 1), "alpha");
  assert_string_equal(adx_dataset_class_name(d, 2), "empty");
  assert_int_equal(adx_dataset_size(d), 2);
  assert_int_equal(adx_dataset_label(d, 0), 0);
  assert_int_equal(adx_dataset_label(d, 1), 1);
  char name[1024];
  snprintf(q, sizeof q, "%s/Zeta/link.png", root);
  assert_string_equal(adx_dataset_item_name(d, 0, name, sizeof name), q);
  float raw[64];
  TU_OK(adx_dataset_get(d, 1, raw, NULL, err));
  adx_dataset_close(d);
  /* an image that does not decode: the get fails naming it */
  snprintf(p, sizeof p, "%s/alpha/zz_bad.png", root);
  FILE *f = fopen(p, "wb");
  fputs("not a png", f);
  fclose(f);
  d = open_ok(root, NULL, 1, 8, 8);
  assert_int_equal(adx_dataset_size(d), 3);
  expect_err(adx_dataset_get(d, 2, raw, NULL, &e), &e, ADX_ERR_FORMAT, "zz_bad.png");
  adx_dataset_close(d);

  const char *rm[] = {"Zeta/link.png", "Zeta/dangling.png", "alpha/img.JPG", "alpha/zz_bad.png", "linked"};
  for (size_t i = 0; i < sizeof rm / sizeof *rm; i++) snprintf(p, sizeof p, "%s/%s", root, rm[i]), unlink(p);
  const char *rd[] = {"Zeta/sub.png", "Zeta", "alpha", "empty", ""};
  for (size_t i = 0; i < sizeof rd / sizeof *rd; i++) snprintf(p, sizeof p, "%s/%s", root, rd[i]), rmdir(p);

  expect_err(adx_dataset_open(ds(fix, sizeof fix, "noimages"), NULL, 1, 8, 8, &d, &e), &e, ADX_ERR_FORMAT,
             "noimages");
}

/* ------------------------------------------------------------------ hdf5 */

static void test_hdf5_u8(void **state) {
  char p[512], name[600], want[600];
  adx_tensor c1 = {0}, c3 = {0};
  load_npy("h5_u8_c1.npy", &c1);
  load_npy("h5_u8_c3.npy", &c3);
  adx_dataset *d = open_ok(ds(p, sizeof p, "h5/u8.h5"), NULL, 1, 6, 5);
  assert_string_equal(adx_dataset_kind(d), "hdf5");
  assert_int_equal(adx_dataset_size(d), 4);
  assert_int_equal(adx_dataset_nclasses(d), 3);
  const int32_t labels[4] = {1, 0, 2, -1};
  for (int i = 3; i >= 0; i--) expect_item(d, i, &c1, i, 0, labels[i]);
  snprintf(want, sizeof want, "%s[2]", p);
  assert_string_equal(adx_dataset_item_name(d, 2, name, sizeof name), want);
  adx_dataset_close(d);
  d = open_ok(p, NULL, 3, 6, 5);
  for (int i = 0; i < 4; i++) expect_item(d, i, &c3, i, 0, labels[i]);
  adx_dataset_close(d);
  adx_tensor_free(&c1);
  adx_tensor_free(&c3);
}

static void test_hdf5_float(void **state) {
  char p[512];
  adx_tensor f32 = {0}, f64 = {0};
  load_npy("h5_f32_c3.npy", &f32);
  load_npy("h5_f64_c1.npy", &f64);
  /* (N,H,W,3) float32, gzip-chunked, no labels: values as is */
  adx_dataset *d = open_ok(ds(p, sizeof p, "h5/f32.h5"), NULL, 3, 6, 5);
  assert_int_equal(adx_dataset_size(d), 3);
  assert_int_equal(adx_dataset_nclasses(d), 0);
  for (int i = 0; i < 3; i++) expect_item(d, i, &f32, i, 0, -1);
  adx_dataset_close(d);
  /* (N,H,W) float64 with int32 labels */
  d = open_ok(ds(p, sizeof p, "h5/f64.h5"), NULL, 1, 6, 5);
  assert_int_equal(adx_dataset_nclasses(d), 7);
  expect_item(d, 0, &f64, 0, 0, 5);
  expect_item(d, 1, &f64, 1, 0, 6);
  adx_dataset_close(d);
  adx_tensor_free(&f32);
  adx_tensor_free(&f64);
}

static void test_hdf5_errors(void **state) {
  char p[512];
  adx_dataset *d = NULL;
  adx_error e = {0};
  expect_err(adx_dataset_open(ds(p, sizeof p, "h5/noimages.h5"), NULL, 1, 6, 5, &d, &e), &e, ADX_ERR_FORMAT,
             "/images");
  assert_non_null(strstr(e.msg, "noimages.h5"));
  expect_err(adx_dataset_open(ds(p, sizeof p, "h5/badlabels.h5"), NULL, 1, 6, 5, &d, &e), &e, ADX_ERR_FORMAT,
             "/labels");
  expect_err(adx_dataset_open(ds(p, sizeof p, "h5/nchw.h5"), NULL, 3, 6, 5, &d, &e), &e, ADX_ERR_UNSUPPORTED,
             "(N,H,W,C)");
  expect_err(adx_dataset_open(ds(p, sizeof p, "h5/int16.h5"), NULL, 1, 6, 5, &d, &e), &e, ADX_ERR_UNSUPPORTED,
             "int16.h5");
  expect_err(adx_dataset_open(ds(p, sizeof p, "h5/u8.h5"), NULL, 1, 5, 6, &d, &e), &e, ADX_ERR_SHAPE,
             "u8.h5");
  adx_dataset_limits lim = {0};
  lim.max_image_elems = 29;
  expect_err(adx_dataset_open_ex(p, NULL, 1, 6, 5, &lim, &d, &e), &e, ADX_ERR_LIMIT, "u8.h5");
  assert_null(d);

  /* the HDF5 signature followed by garbage */
  char tmp[] = "/tmp/adx_test_ds_XXXXXX";
  int fd = mkstemp(tmp);
  assert_true(fd >= 0);
  unsigned char junk[600] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (int i = 8; i < 600; i++) junk[i] = (unsigned char)(i * 7);
  assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
  close(fd);
  expect_err(adx_dataset_open(tmp, NULL, 1, 6, 5, &d, &e), &e, ADX_ERR_FORMAT, tmp);
  unlink(tmp);
}

/* ------------------------------------------------------------------ list */

static void test_list(void **state) {
  char p[512], name[1024], want[1024];
  adx_tensor c3 = {0};
  load_npy("folder_c3.npy", &c3);
  adx_dataset *d = open_ok(ds(p, sizeof p, "list/images.txt"), NULL, 3, 8, 8);
  assert_string_equal(adx_dataset_kind(d), "list");
  assert_int_equal(adx_dataset_size(d), 3);
  assert_int_equal(adx_dataset_nclasses(d), 5);
  assert_null(adx_dataset_class_name(d, 0));
  expect_item(d, 0, &c3, 2, 0, 1);  /* ../folder/dog/c.PNG<TAB>1 */
  expect_item(d, 1, &c3, 0, 0, -1); /* "  ../folder/cat/a.png  \r" */
  expect_item(d, 2, &c3, 1, 0, 4);  /* ../folder/cat/b.png<TAB>4 */
  char dir[512];
  ds(dir, sizeof dir, "list");
  snprintf(want, sizeof want, "%s/../folder/cat/a.png", dir);
  assert_string_equal(adx_dataset_item_name(d, 1, name, sizeof name), want);
  adx_dataset_close(d);

  /* absolute paths are taken as they are */
  char abs_img[PATH_MAX], tmp[] = "/tmp/adx_test_ds_XXXXXX";
  assert_non_null(realpath(ds(p, sizeof p, "folder/cat/b.png"), abs_img));
  int fd = mkstemp(tmp);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "# one image\n%s\t0", abs_img); /* no final newline */
  fclose(f);
  d = open_ok(tmp, NULL, 3, 8, 8);
  assert_int_equal(adx_dataset_size(d), 1);
  assert_int_equal(adx_dataset_nclasses(d), 1);
  expect_item(d, 0, &c3, 1, 0, 0);
  assert_string_equal(adx_dataset_item_name(d, 0, name, sizeof name), abs_img);
  adx_dataset_close(d);
  unlink(tmp);
  adx_tensor_free(&c3);
}

static void test_list_errors(void **state) {
  char p[512];
  adx_dataset *d = NULL;
  adx_error e = {0};
  expect_err(adx_dataset_open(ds(p, sizeof p, "list/badlabel.txt"), NULL, 3, 8, 8, &d, &e), &e,
             ADX_ERR_FORMAT, "badlabel.txt:1:");
  expect_err(adx_dataset_open(ds(p, sizeof p, "list/missing.txt"), NULL, 3, 8, 8, &d, &e), &e, ADX_ERR_IO,
             "missing.txt:2:");
  assert_non_null(strstr(e.msg, "nonexistent.png"));
  expect_err(adx_dataset_open(ds(p, sizeof p, "list/empty.txt"), NULL, 3, 8, 8, &d, &e), &e, ADX_ERR_FORMAT,
             "empty.txt");
  /* a binary file that is neither IDX nor HDF5 (a PNG) */
  expect_err(adx_dataset_open(ds(p, sizeof p, "folder/cat/a.png"), NULL, 1, 8, 8, &d, &e), &e, ADX_ERR_FORMAT,
             "a.png");
  assert_null(d);
}

/* ------------------------------------------------------------------ opening */

static void test_open_errors(void **state) {
  adx_dataset *d = (adx_dataset *)1;
  adx_error e = {0};
  expect_err(adx_dataset_open("/nonexistent/adx/data.idx", NULL, 1, 28, 28, &d, &e), &e, ADX_ERR_IO,
             "/nonexistent/adx/data.idx");
  assert_null(d);
  char p[512];
  expect_err(adx_dataset_open(ds(p, sizeof p, "h5/u8.h5"), NULL, 0, 6, 5, &d, &e), &e, ADX_ERR_ARG, "u8.h5");
  expect_err(adx_dataset_open("", NULL, 1, 6, 5, &d, &e), &e, ADX_ERR_ARG, NULL);
  expect_err(adx_dataset_open("/dev/null", NULL, 1, 6, 5, &d, &e), &e, ADX_ERR_IO, "/dev/null");
}

/* ------------------------------------------------------------------ selection */

static void expect_range(const int64_t *idx, int64_t count, int64_t first, int64_t n) {
  assert_int_equal(count, n);
  for (int64_t i = 0; i < n; i++) assert_int_equal(idx[i], first + i);
}

static void test_select(void **state) {
  int64_t *idx = NULL, count = -1;
  TU_OK(adx_dataset_select(10, 0, 0, 0, 1, &idx, &count, err));
  expect_range(idx, count, 0, 10);
  free(idx);
  TU_OK(adx_dataset_select(10, 3, 4, 0, 1, &idx, &count, err));
  expect_range(idx, count, 3, 4);
  free(idx);
  TU_OK(adx_dataset_select(10, 3, 100, 0, 1, &idx, &count, err)); /* a limit past the end is cut */
  expect_range(idx, count, 3, 7);
  free(idx);
  TU_OK(adx_dataset_select(10, 2, 6, 6, 1, &idx, &count, err)); /* sample = the whole range */
  expect_range(idx, count, 2, 6);
  free(idx);

  /* sampling: exact count, sorted, inside the range, the same for a seed, different across seeds */
  int64_t *first = NULL, c0;
  TU_OK(adx_dataset_select(10, 2, 6, 3, 42, &first, &c0, err));
  assert_int_equal(c0, 3);
  for (int i = 0; i < 3; i++) {
    assert_true(first[i] >= 2 && first[i] < 8);
    if (i) assert_true(first[i] > first[i - 1]);
  }
  TU_OK(adx_dataset_select(10, 2, 6, 3, 42, &idx, &count, err));
  assert_int_equal(count, 3);
  assert_memory_equal(idx, first, sizeof(int64_t) * 3);
  free(idx);
  int differs = 0;
  for (uint64_t seed = 1; seed <= 20 && !differs; seed++) {
    TU_OK(adx_dataset_select(10, 2, 6, 3, seed, &idx, &count, err));
    differs = memcmp(idx, first, sizeof(int64_t) * 3) != 0;
    free(idx);
  }
  assert_true(differs);
  free(first);

  /* every item equally likely: 3 of 10 over 3000 seeds -> 900 each (sd about 25) */
  long hits[10] = {0};
  for (uint64_t seed = 0; seed < 3000; seed++) {
    TU_OK(adx_dataset_select(10, 0, 0, 3, seed, &idx, &count, err));
    for (int i = 0; i < 3; i++) hits[idx[i]]++;
    free(idx);
  }
  for (int k = 0; k < 10; k++)
    if (hits[k] < 780 || hits[k] > 1020)
      fail_msg("item %d picked %ld times of 3000, expected about 900", k, hits[k]);

  /* a large range */
  TU_OK(adx_dataset_select(60000, 100, 0, 1000, 7, &idx, &count, err));
  assert_int_equal(count, 1000);
  for (int i = 1; i < 1000; i++) assert_true(idx[i] > idx[i - 1]);
  assert_true(idx[0] >= 100 && idx[999] < 60000);
  free(idx);

  adx_error e = {0};
  expect_err(adx_dataset_select(10, 10, 0, 0, 1, &idx, &count, &e), &e, ADX_ERR_ARG, "offset");
  assert_null(idx);
  assert_int_equal(count, 0);
  expect_err(adx_dataset_select(10, -1, 0, 0, 1, &idx, &count, &e), &e, ADX_ERR_ARG, "offset");
  expect_err(adx_dataset_select(10, 0, -1, 0, 1, &idx, &count, &e), &e, ADX_ERR_ARG, "limit");
  expect_err(adx_dataset_select(10, 0, 0, -1, 1, &idx, &count, &e), &e, ADX_ERR_ARG, "sample");
  expect_err(adx_dataset_select(10, 5, 3, 4, 1, &idx, &count, &e), &e, ADX_ERR_ARG, "sample");
  expect_err(adx_dataset_select(0, 0, 0, 0, 1, &idx, &count, &e), &e, ADX_ERR_ARG, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idx_fashion),
      cmocka_unit_test(test_idx_tiny_gz),
      cmocka_unit_test(test_idx_plain_no_labels),
      cmocka_unit_test(test_idx_rgb),
      cmocka_unit_test(test_idx_errors),
      cmocka_unit_test(test_idx_labels_path),
      cmocka_unit_test(test_folder),
      cmocka_unit_test(test_folder_sizes),
      cmocka_unit_test(test_folder_tree_rules),
      cmocka_unit_test(test_hdf5_u8),
      cmocka_unit_test(test_hdf5_float),
      cmocka_unit_test(test_hdf5_errors),
      cmocka_unit_test(test_list),
      cmocka_unit_test(test_list_errors),
      cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_select),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
