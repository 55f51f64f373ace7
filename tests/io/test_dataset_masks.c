/* Object masks of datasets (adx_dataset_has_masks, adx_dataset_get_mask): IDX "...-masks-idx3-ubyte" files
 * beside the images and HDF5 /masks, written here byte by byte (IDX) or with the HDF5 API; expected masks
 * are the written bytes (nonzero -> 1), moved by hand through the documented geometry (crop offsets,
 * nearest-neighbour resize); shape mismatches are refused naming both files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adx/dataset.h"
#include "adx/io.h"
#include "common/testutil.h"

#define N 2
#define IH 4
#define IW 5

/* An uncompressed IDX file of unsigned bytes. */
static void write_idx(const char *path, int ndim, const int *dims, const uint8_t *data) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  uint8_t head[4] = {0, 0, 8, (uint8_t)ndim};
  fwrite(head, 1, 4, f);
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    uint8_t b[4] = {0, 0, (uint8_t)(dims[i] >> 8), (uint8_t)dims[i]};
    fwrite(b, 1, 4, f);
    n *= (size_t)dims[i];
  }
  fwrite(data, 1, n, f);
  fclose(f);
}

static uint8_t image_px(int i, int p) { return (uint8_t)(10 * i + p); }
/* the stored mask of image i: a value pattern with zeros and several nonzero values */
static uint8_t mask_px(int i, int p) { return (uint8_t)(((p + i) % 3 == 0) ? 0 : (p % 2 ? 7 : 255)); }

static void make_idx(const char *dir, int mask_n, int mask_w) {
  char p[600];
  uint8_t img[N * IH * IW], msk[3 * IH * IW];
  for (int i = 0; i < N; i++)
    for (int q = 0; q < IH * IW; q++) img[i * IH * IW + q] = image_px(i, q);
  for (int i = 0; i < mask_n; i++)
    for (int q = 0; q < IH * mask_w; q++) msk[i * IH * mask_w + q] = mask_px(i, q);
  int di[3] = {N, IH, IW}, dm[3] = {mask_n, IH, mask_w};
  snprintf(p, sizeof p, "%s/t-images-idx3-ubyte", dir);
  write_idx(p, 3, di, img);
  snprintf(p, sizeof p, "%s/t-masks-idx3-ubyte", dir);
  write_idx(p, 3, dm, msk);
}

static void test_idx_masks(void **state) {
  char dir[] = "/tmp/adx_test_masks_XXXXXX", p[600], q[600];
  assert_non_null(mkdtemp(dir));
  make_idx(dir, N, IW);
  snprintf(p, sizeof p, "%s/t-images-idx3-ubyte", dir);
  assert_int_equal(adx_idx_masks_path(p, q, sizeof q), 0);
  snprintf(p, sizeof p, "%s/t-masks-idx3-ubyte", dir);
  assert_string_equal(q, p);
  snprintf(p, sizeof p, "%s/t-images-idx3-ubyte.gz", dir); /* the masks' compression may differ */
  assert_int_equal(adx_idx_masks_path(p, q, sizeof q), 0);
  snprintf(p, sizeof p, "%s/t-masks-idx3-ubyte", dir);
  assert_string_equal(q, p);
  snprintf(p, sizeof p, "%s/nothing-images-idx3-ubyte", dir);
  assert_int_equal(adx_idx_masks_path(p, q, sizeof q), -1);
  snprintf(p, sizeof p, "%s/t-images-idx3-ubyte", dir);

  adx_dataset *d = NULL;
  TU_OK(adx_dataset_open(p, NULL, 1, IH, IW, &d, err));
  assert_int_equal(adx_dataset_has_masks(d), 1);
  assert_non_null(strstr(adx_dataset_mask_source(d), "t-masks-idx3-ubyte"));
  uint8_t m[8 * 10];
  for (int i = N - 1; i >= 0; i--) {
    TU_OK(adx_dataset_get_mask(d, i, m, err));
    for (int k = 0; k < IH * IW; k++) assert_int_equal(m[k], mask_px(i, k) != 0);
  }
  adx_error e = {0};
  assert_int_equal(adx_dataset_get_mask(d, N, m, &e), ADX_ERR_ARG);
  adx_dataset_close(d);

  /* centre crop 4x4 of 4x5: left offset round(1/2) = 0 (ties to even) */
  adx_preproc pp;
  adx_preproc_default(&pp);
  TU_OK(adx_preproc_set(&pp, "crop", "4", err));
  TU_OK(adx_dataset_open(p, &pp, 1, 4, 4, &d, err));
  TU_OK(adx_dataset_get_mask(d, 1, m, err));
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) assert_int_equal(m[y * 4 + x], mask_px(1, y * IW + x) != 0);
  adx_dataset_close(d);

  /* resize 8: 4x5 -> 8x10; nearest neighbour row floor((y + 0.5) * 4 / 8) = y / 2, likewise columns */
  adx_preproc_default(&pp);
  TU_OK(adx_preproc_set(&pp, "resize", "8", err));
  TU_OK(adx_dataset_open(p, &pp, 1, 8, 10, &d, err));
  TU_OK(adx_dataset_get_mask(d, 0, m, err));
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 10; x++) assert_int_equal(m[y * 10 + x], mask_px(0, (y / 2) * IW + x / 2) != 0);
  adx_dataset_close(d);

  /* a mask file with the wrong count, then the wrong width: refused, naming both files */
  make_idx(dir, 3, IW);
  d = (adx_dataset *)1;
  assert_int_equal(adx_dataset_open(p, NULL, 1, IH, IW, &d, &e), ADX_ERR_FORMAT);
  assert_null(d);
  assert_non_null(strstr(e.msg, "t-masks-idx3-ubyte"));
  assert_non_null(strstr(e.msg, "t-images-idx3-ubyte"));
  assert_non_null(strstr(e.msg, "[3,4,5]"));
  make_idx(dir, N, 4);
  assert_int_equal(adx_dataset_open(p, NULL, 1, IH, IW, &d, &e), ADX_ERR_FORMAT);
  assert_non_null(strstr(e.msg, "[2,4,4]"));

  /* no mask file: no masks */
  snprintf(q, sizeof q, "%s/t-masks-idx3-ubyte", dir);
  unlink(q);
  TU_OK(adx_dataset_open(p, NULL, 1, IH, IW, &d, err));
  assert_int_equal(adx_dataset_has_masks(d), 0);
  assert_null(adx_dataset_mask_source(d));
  assert_int_equal(adx_dataset_get_mask(d, 0, m, &e), ADX_ERR_ARG);
  adx_dataset_close(d);
  unlink(p);
  rmdir(dir);
}

static void put(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims, const void *v) {
  hid_t sp = H5Screate_simple(rank, dims, NULL);
  hid_t ds = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(ds >= 0);
  assert_true(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
  H5Dclose(ds);
  H5Sclose(sp);
}

/* /images uint8 (N,IH,IW), /labels, and /masks of the given shape and type (mask_kind 0: int32 holding
 * -1, 0, 300; 1: float32) */
static void make_h5(const char *path, int mask_n, int mask_kind) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(f >= 0);
  uint8_t img[N * IH * IW];
  for (int q = 0; q < N * IH * IW; q++) img[q] = (uint8_t)q;
  hsize_t di[3] = {N, IH, IW}, dl = N, dm[3] = {(hsize_t)mask_n, IH, IW};
  put(f, "images", H5T_NATIVE_UINT8, 3, di, img);
  int32_t lab[N] = {3, 1};
  put(f, "labels", H5T_NATIVE_INT32, 1, &dl, lab);
  int32_t mi[3 * IH * IW];
  float mf[3 * IH * IW];
  for (int q = 0; q < mask_n * IH * IW; q++) {
    mi[q] = q % 3 == 0 ? 0 : (q % 3 == 1 ? -1 : 300);
    mf[q] = (float)(q % 2);
  }
  if (mask_kind == 0)
    put(f, "masks", H5T_NATIVE_INT32, 3, dm, mi);
  else
    put(f, "masks", H5T_NATIVE_FLOAT, 3, dm, mf);
  H5Fclose(f);
}

static void test_hdf5_masks(void **state) {
  char path[] = "/tmp/adx_test_masks_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  make_h5(path, N, 0);
  adx_dataset *d = NULL;
  TU_OK(adx_dataset_open(path, NULL, 1, IH, IW, &d, err));
  assert_int_equal(adx_dataset_has_masks(d), 1);
  assert_non_null(strstr(adx_dataset_mask_source(d), ":/masks"));
  uint8_t m[IH * IW];
  TU_OK(adx_dataset_get_mask(d, 1, m, err));
  for (int k = 0; k < IH * IW; k++) assert_int_equal(m[k], (IH * IW + k) % 3 != 0); /* -1 and 300 count */
  adx_dataset_close(d);

  adx_error e = {0};
  make_h5(path, 3, 0); /* wrong count */
  assert_int_equal(adx_dataset_open(path, NULL, 1, IH, IW, &d, &e), ADX_ERR_FORMAT);
  assert_non_null(strstr(e.msg, "/masks"));
  assert_non_null(strstr(e.msg, path));
  assert_non_null(strstr(e.msg, "[3,4,5]"));
  make_h5(path, N, 1); /* floats */
  assert_int_equal(adx_dataset_open(path, NULL, 1, IH, IW, &d, &e), ADX_ERR_FORMAT);
  assert_non_null(strstr(e.msg, "integers"));
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idx_masks),
      cmocka_unit_test(test_hdf5_masks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
