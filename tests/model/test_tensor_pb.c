/* TensorProto decoding (adx_tensor_load_pb, the same decoder as initializers): every stored form adx
 * reads, and the malformed or unsupported ones it must refuse. Expected values are the literals written
 * by scripts/make_model_tests.py, or ONNX's own test data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/model.h"

static const char *data_dir(void) {
  const char *d = getenv("ADX_TEST_DATA");
  return d ? d : "tests/data";
}

static adx_status load(const char *name, adx_tensor *t, adx_error *err) {
  char path[1024];
  snprintf(path, sizeof path, "%s/models/%s", data_dir(), name);
  return adx_tensor_load_pb(path, t, err);
}

static void test_float_data(void **state) {
  (void)state;
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load("tensor_float_data.pb", &t, &err), ADX_OK);
  assert_int_equal(t.dtype, ADX_F32);
  assert_int_equal(t.ndim, 2);
  assert_int_equal(t.dims[0], 2);
  assert_int_equal(t.dims[1], 3);
  const float want[6] = {1.5f, -2.25f, 0.0f, 3.0f, 1e-3f, -7.5f};
  for (int i = 0; i < 6; i++) assert_true(adx_f32(&t)[i] == want[i]);
  adx_tensor_free(&t);
}

static void test_int64_data(void **state) {
  (void)state;
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load("tensor_int64.pb", &t, &err), ADX_OK);
  assert_int_equal(t.dtype, ADX_I64);
  assert_int_equal(t.ndim, 1);
  assert_int_equal(t.dims[0], 4);
  const int64_t want[4] = {1, -1, (int64_t)1 << 40, 0};
  for (int i = 0; i < 4; i++) assert_true(adx_i64(&t)[i] == want[i]);
  adx_tensor_free(&t);
}

static void test_double_to_f32(void **state) {
  (void)state;
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load("tensor_double.pb", &t, &err), ADX_OK);
  assert_int_equal(t.dtype, ADX_F32);
  assert_int_equal(t.dims[0], 3);
  assert_true(adx_f32(&t)[0] == 0.5f);
  assert_true(adx_f32(&t)[1] == -1.25f);
  assert_true(adx_f32(&t)[2] == 1e10f);
  adx_tensor_free(&t);
}

static void test_int32_raw_to_i64(void **state) {
  (void)state;
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load("tensor_int32.pb", &t, &err), ADX_OK);
  assert_int_equal(t.dtype, ADX_I64);
  assert_int_equal(t.ndim, 2);
  const int64_t want[4] = {7, -8, 2147483647LL, -2147483648LL};
  for (int i = 0; i < 4; i++) assert_true(adx_i64(&t)[i] == want[i]);
  adx_tensor_free(&t);
}

static void test_scalar(void **state) {
  (void)state;
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load("tensor_scalar.pb", &t, &err), ADX_OK);
  assert_int_equal(t.ndim, 0);
  assert_int_equal(adx_tensor_numel(&t), 1);
  assert_true(adx_f32(&t)[0] == 2.5f);
  adx_tensor_free(&t);
}

static void test_bad_raw_length(void **state) {
  (void)state;
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load("tensor_bad_raw.pb", &t, &err), ADX_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "tensor_bad_raw.pb"));
  assert_non_null(strstr(err.msg, "'bad'"));
  assert_null(t.data);
}

static void test_unsupported_dtype(void **state) {
  (void)state;
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load("tensor_uint8.pb", &t, &err), ADX_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "'tu8'"));
  assert_non_null(strstr(err.msg, "UINT8"));
}

static void test_negative_dim(void **state) {
  (void)state;
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load("tensor_negdim.pb", &t, &err), ADX_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "'neg'"));
}

static void test_missing_file(void **state) {
  (void)state;
  adx_tensor t;
  adx_error err = {0};
  assert_int_equal(load("no_such_tensor.pb", &t, &err), ADX_ERR_IO);
  assert_non_null(strstr(err.msg, "no_such_tensor.pb"));
  assert_non_null(strstr(err.msg, "cannot open"));
}

/* ONNX's own test data: test_relu input_0.pb is float [3,4,5]; its output_0.pb is max(x, 0). */
static void test_onnx_testdata_relu(void **state) {
  (void)state;
  const char *dir = "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0";
  char in[512], out[512];
  snprintf(in, sizeof in, "%s/input_0.pb", dir);
  snprintf(out, sizeof out, "%s/output_0.pb", dir);
  adx_tensor x, y;
  adx_error err = {0};
  if (adx_tensor_load_pb(in, &x, &err) == ADX_ERR_IO) skip(); /* libonnx-testdata not installed */
  assert_int_equal(err.code, ADX_OK);
  assert_int_equal(x.dtype, ADX_F32);
  assert_int_equal(x.ndim, 3);
  assert_int_equal(x.dims[0], 3);
  assert_int_equal(x.dims[1], 4);
  assert_int_equal(x.dims[2], 5);
  assert_int_equal(adx_tensor_load_pb(out, &y, &err), ADX_OK);
  assert_int_equal(adx_tensor_numel(&y), 60);
  int neg = 0, pos = 0;
  for (int i = 0; i < 60; i++) {
    float v = adx_f32(&x)[i];
    assert_true(adx_f32(&y)[i] == (v > 0 ? v : 0));
    neg += v < 0;
    pos += v > 0;
  }
  assert_true(neg > 0 && pos > 0); /* the data really exercises both branches */
  adx_tensor_free(&x);
  adx_tensor_free(&y);
}

/* A model file is not a TensorProto of a supported type: the decoder must not accept garbage silently. */
static void test_not_a_tensor(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s/models/truncated.onnx", data_dir());
  adx_tensor t;
  adx_error err = {0};
  adx_status s = adx_tensor_load_pb(path, &t, &err);
  assert_int_not_equal(s, ADX_OK);
  assert_non_null(strstr(err.msg, "truncated.onnx"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_float_data),
      cmocka_unit_test(test_int64_data),
      cmocka_unit_test(test_double_to_f32),
      cmocka_unit_test(test_int32_raw_to_i64),
      cmocka_unit_test(test_scalar),
      cmocka_unit_test(test_bad_raw_length),
      cmocka_unit_test(test_unsupported_dtype),
      cmocka_unit_test(test_negative_dim),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_onnx_testdata_relu),
      cmocka_unit_test(test_not_a_tensor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
