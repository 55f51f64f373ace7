/* .npy reading and writing. Hand-made files follow the NumPy format spec (NEP 1); the expected
 * header bytes of adx_npy_save were taken from numpy 1.24's np.save. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adx/io.h"
#include "common/testutil.h"

static char tmp_path[64];

static int setup(void **state) {
  (void)state;
  strcpy(tmp_path, "/tmp/adx_test_npy_XXXXXX");
  int fd = mkstemp(tmp_path);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(tmp_path);
  return 0;
}

/* Write a v1 (or v2) .npy: magic, header dict padded to 64 with '\n', then `data` bytes. */
static void write_npy(int major, const char *dict, const void *data, size_t n) {
  FILE *f = fopen(tmp_path, "wb");
  assert_non_null(f);
  size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
  size_t hlen = dl + 1;
  hlen += (64 - (pre + hlen) % 64) % 64;
  unsigned char m[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
  if (major == 1)
    m[8] = (unsigned char)hlen, m[9] = (unsigned char)(hlen >> 8);
  else
    m[8] = (unsigned char)hlen, m[9] = (unsigned char)(hlen >> 8), m[10] = 0, m[11] = 0;
  fwrite(m, 1, pre, f);
  fwrite(dict, 1, dl, f);
  for (size_t i = dl; i + 1 < hlen; i++) fputc(' ', f);
  fputc('\n', f);
  if (n) fwrite(data, 1, n, f);
  fclose(f);
}

static void write_raw(const void *bytes, size_t n) {
  FILE *f = fopen(tmp_path, "wb");
  assert_non_null(f);
  fwrite(bytes, 1, n, f);
  fclose(f);
}

static adx_status load(adx_tensor *t, adx_error *err) { return adx_npy_load(tmp_path, t, err); }

static void test_handmade_f4(void **state) {
  (void)state;
  const float v[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, 7.0f};
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof v);
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load(&t, &err), ADX_OK);
  assert_int_equal(t.dtype, ADX_F32);
  assert_int_equal(t.ndim, 2);
  assert_int_equal(t.dims[0], 2);
  assert_int_equal(t.dims[1], 3);
  assert_memory_equal(t.data, v, sizeof v);
  adx_tensor_free(&t);
  /* keys in another order, double quotes, no trailing comma, version 2 header */
  write_npy(2, "{\"shape\": (6,), \"fortran_order\": False, \"descr\": \"<f4\"}", v, sizeof v);
  assert_int_equal(load(&t, &err), ADX_OK);
  assert_int_equal(t.ndim, 1);
  assert_int_equal(t.dims[0], 6);
  assert_memory_equal(t.data, v, sizeof v);
  adx_tensor_free(&t);
}

static void test_u1_and_i8(void **state) {
  (void)state;
  const unsigned char b[4] = {0, 1, 128, 255};
  write_npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", b, sizeof b);
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load(&t, &err), ADX_OK);
  assert_int_equal(t.dtype, ADX_F32);
  assert_true(adx_f32(&t)[0] == 0.0f && adx_f32(&t)[1] == 1.0f && adx_f32(&t)[2] == 128.0f &&
              adx_f32(&t)[3] == 255.0f);
  adx_tensor_free(&t);
  const int64_t l[3] = {-1, 0, INT64_MAX};
  write_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", l, sizeof l);
  assert_int_equal(load(&t, &err), ADX_OK);
  assert_int_equal(t.dtype, ADX_I64);
  assert_memory_equal(t.data, l, sizeof l);
  adx_tensor_free(&t);
}

static void test_scalar_and_empty(void **state) {
  (void)state;
  const float v = 42.0f;
  adx_tensor t;
  adx_error err = {0};
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &v, sizeof v);
  assert_int_equal(load(&t, &err), ADX_OK);
  assert_int_equal(t.ndim, 0);
  assert_true(adx_f32(&t)[0] == 42.0f);
  adx_tensor_free(&t);
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", NULL, 0);
  assert_int_equal(load(&t, &err), ADX_OK);
  assert_int_equal(adx_tensor_numel(&t), 0);
  adx_tensor_free(&t);
}

static void expect(adx_status code, const char *why) {
  adx_tensor t;
  adx_error err = {0};
  memset(&t, 0x55, sizeof t);
  adx_status s = load(&t, &err);
  if (s != code)
    fail_msg("%s: expected %s, got %s (%s)", why, adx_status_name(code), adx_status_name(s), err.msg);
  assert_non_null(strstr(err.msg, tmp_path));
  assert_null(t.data);
}

static void test_bad_headers(void **state) {
  (void)state;
  const float v[6] = {0};
  write_raw("\x93NUMPX\x01\x00\x10\x00{}", 12);
  expect(ADX_ERR_FORMAT, "bad magic");
  write_raw("\x93NU", 3);
  expect(ADX_ERR_FORMAT, "short file");
  write_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", v, sizeof v);
  expect(ADX_ERR_UNSUPPORTED, "fortran order");
  write_npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof v);
  expect(ADX_ERR_UNSUPPORTED, "big-endian");
  write_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", v, sizeof v);
  expect(ADX_ERR_UNSUPPORTED, "float64");
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof v - 4);
  expect(ADX_ERR_FORMAT, "data too short");
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", v, sizeof v);
  expect(ADX_ERR_FORMAT, "data too long");
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", v, sizeof v);
  expect(ADX_ERR_FORMAT, "unknown key");
  write_npy(1, "{'descr': '<f4', 'shape': (2, 3), }", v, sizeof v);
  expect(ADX_ERR_FORMAT, "missing key");
  write_npy(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof v);
  expect(ADX_ERR_FORMAT, "duplicate key");
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", v, sizeof v);
  expect(ADX_ERR_FORMAT, "negative dim");
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", v, sizeof v);
  expect(ADX_ERR_FORMAT, "list shape");
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk", v, sizeof v);
  expect(ADX_ERR_FORMAT, "junk after dict");
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,6), }", v, sizeof v);
  expect(ADX_ERR_LIMIT, "rank 9");
  write_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999), }", v,
            sizeof v);
  expect(ADX_ERR_FORMAT, "overflowing shape");
  /* header length pointing past the end of the file */
  write_raw("\x93NUMPY\x01\x00\xff\x7f{'descr': '<f4'", 25);
  expect(ADX_ERR_FORMAT, "header length past EOF");
  write_raw("\x93NUMPY\x09\x00\x10\x00{}", 12);
  expect(ADX_ERR_UNSUPPORTED, "version 9");

  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(adx_npy_load("/nonexistent/x.npy", &t, &err), ADX_ERR_IO);
  assert_non_null(strstr(err.msg, "/nonexistent/x.npy"));
}

static void test_save_roundtrip(void **state) {
  (void)state;
  adx_error err = {0};
  adx_tensor a, b;
  int64_t d[3] = {2, 3, 4};
  assert_int_equal(adx_tensor_alloc(&a, ADX_F32, 3, d, &err), ADX_OK);
  for (int i = 0; i < 24; i++) adx_f32(&a)[i] = (float)i * 0.37f - 3.0f;
  assert_int_equal(adx_npy_save(tmp_path, &a, &err), ADX_OK);
  assert_int_equal(adx_npy_load(tmp_path, &b, &err), ADX_OK);
  assert_int_equal(b.ndim, 3);
  assert_memory_equal(b.dims, d, sizeof d);
  assert_memory_equal(b.data, a.data, 24 * sizeof(float));
  adx_tensor_free(&b);
  adx_tensor_free(&a);

  int64_t d1[1] = {5};
  assert_int_equal(adx_tensor_alloc(&a, ADX_I64, 1, d1, &err), ADX_OK);
  for (int i = 0; i < 5; i++) adx_i64(&a)[i] = (int64_t)i * -1000000000000LL;
  assert_int_equal(adx_npy_save(tmp_path, &a, &err), ADX_OK);
  /* byte-exact header as numpy writes it */
  FILE *f = fopen(tmp_path, "rb");
  unsigned char buf[256];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  static const char want[] =
      "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }";
  assert_int_equal(n, 128 + 40);
  assert_memory_equal(buf, want, sizeof want - 1);
  assert_int_equal(buf[127], '\n');
  for (size_t i = sizeof want - 1; i < 127; i++) assert_int_equal(buf[i], ' ');
  assert_int_equal(adx_npy_load(tmp_path, &b, &err), ADX_OK);
  assert_int_equal(b.dtype, ADX_I64);
  assert_memory_equal(b.data, a.data, 5 * sizeof(int64_t));
  adx_tensor_free(&b);
  adx_tensor_free(&a);

  /* shape (2, 3) and () as numpy formats them */
  int64_t d2[2] = {2, 3};
  assert_int_equal(adx_tensor_alloc(&a, ADX_F32, 2, d2, &err), ADX_OK);
  assert_int_equal(adx_npy_save(tmp_path, &a, &err), ADX_OK);
  f = fopen(tmp_path, "rb");
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  static const char want2[] =
      "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  assert_int_equal(n, 128 + 24);
  assert_memory_equal(buf, want2, sizeof want2 - 1);
  adx_tensor_free(&a);
  assert_int_equal(adx_tensor_alloc(&a, ADX_F32, 0, d2, &err), ADX_OK);
  assert_int_equal(adx_npy_save(tmp_path, &a, &err), ADX_OK);
  f = fopen(tmp_path, "rb");
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  static const char want3[] = "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (), }";
  assert_int_equal(n, 128 + 4);
  assert_memory_equal(buf, want3, sizeof want3 - 1);

  assert_int_equal(adx_npy_save("/nonexistent/x.npy", &a, &err), ADX_ERR_IO);
  assert_non_null(strstr(err.msg, "/nonexistent/x.npy"));
  adx_tensor_free(&a);
  assert_int_equal(adx_npy_save(tmp_path, &a, &err), ADX_ERR_UNSUPPORTED); /* a freed tensor has no dtype */
}

static void test_fixture_files(void **state) {
  (void)state;
  char path[1024];
  adx_error err = {0};
  adx_tensor t;
  if (access(tu_data(path, sizeof path, "fashion_test32_input.npy"), R_OK) != 0) skip();
  assert_int_equal(adx_npy_load(path, &t, &err), ADX_OK);
  int64_t want[4] = {32, 1, 28, 28};
  assert_int_equal(t.ndim, 4);
  assert_memory_equal(t.dims, want, sizeof want);
  adx_tensor_free(&t);
  assert_int_equal(adx_npy_load(tu_data(path, sizeof path, "fashion_test32_labels.npy"), &t, &err), ADX_OK);
  assert_int_equal(t.dtype, ADX_I64);
  assert_int_equal(t.dims[0], 32);
  for (int i = 0; i < 32; i++) assert_true(adx_i64(&t)[i] >= 0 && adx_i64(&t)[i] <= 9);
  adx_tensor_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handmade_f4),      cmocka_unit_test(test_u1_and_i8),
      cmocka_unit_test(test_scalar_and_empty), cmocka_unit_test(test_bad_headers),
      cmocka_unit_test(test_save_roundtrip),   cmocka_unit_test(test_fixture_files),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
