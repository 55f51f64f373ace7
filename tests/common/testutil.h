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

/* For a test that runs MPI: Open MPI keeps (and leaks at MPI_Finalize) its own allocations, so
 * LeakSanitizer is told to ignore what is allocated under Open MPI's libraries and plugins (kept loaded
 * so their names are known). Use once, at file scope, in the test's main file. use_tls=0: gcc 12's
 * LeakSanitizer tracer crashes ("Tracer caught signal 11") on the dynamic TLS of Open MPI's threads at the
 * exit of some runs (docs/reliability.md); not scanning TLS can only add reports, never hide one. */
#define TU_LSAN_IGNORE_MPI                                                                                   \
  const char *__lsan_default_suppressions(void);                                                             \
  const char *__lsan_default_suppressions(void) {                                                            \
    return "leak:libmpi.so\nleak:libopen-pal.so\nleak:libopen-rte.so\nleak:libpmix.so\nleak:/openmpi/\n"     \
           "leak:libhwloc.so\nleak:libevent\n";                                                              \
  }                                                                                                          \
  const char *__lsan_default_options(void);                                                                  \
  const char *__lsan_default_options(void) { return "fast_unwind_on_malloc=0:use_tls=0"; }

#endif
