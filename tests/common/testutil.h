/* Shared helpers for adx tests. */
#ifndef ADX_TESTUTIL_H
#define ADX_TESTUTIL_H

#include "adx/core.h"

/* Path of a file under the test data dir ($ADX_TEST_DATA or tests/data) into a static-free buffer. */
const char *tu_data(char *buf, size_t len, const char *rel);
/* Abort the test with the error message if s != ADX_OK. */
#define TU_OK(expr)                                                                                          \
  do {                                                                                                       \
    adx_error tu_err_ = {0};                                                                                 \
    adx_error *err = &tu_err_;                                                                               \
    adx_status tu_s_ = (expr);                                                                               \
    if (tu_s_ != ADX_OK) fail_msg("%s failed: %s", #expr, tu_err_.msg);                                      \
  } while (0)
/* Max |a-b| over n floats. */
double tu_max_abs_diff(const float *a, const float *b, size_t n);
/* Integer value of the first "key": after the text `anchor` (NULL = start) in a JSON file, or -1. */
long tu_json_int(const char *path, const char *anchor, const char *key);

#endif
