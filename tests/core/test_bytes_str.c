/* adx_bytes_str: byte counts in binary units. Expected strings are hand-derived (1 KiB = 1024 B,
 * one decimal, rounded half away from zero by printf's %.1f on values exact in binary). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "adx/core.h"

static void check(uint64_t bytes, const char *want) {
  char buf[32];
  assert_string_equal(adx_bytes_str(bytes, buf, sizeof buf), want);
}

static void test_small_counts_are_bytes(void **state) {
  (void)state;
  check(0, "0 B");
  check(1, "1 B");
  check(1023, "1023 B");
}

static void test_units(void **state) {
  (void)state;
  check(1024, "1.0 KiB");
  check(1536, "1.5 KiB");            /* 1.5 * 1024 */
  check(4096, "4.0 KiB");            /* --max-activation-mem 4K */
  check(4u << 20, "4.0 MiB");        /* 4M */
  check(2411724, "2.3 MiB");         /* 2.3 * 2^20 = 2411724.8 */
  check(16ull << 30, "16.0 GiB");    /* the default activation cap */
  check(65536ull << 20, "64.0 GiB"); /* 65536 MiB */
  check(3ull << 40, "3.0 TiB");
}

static void test_no_1024_point_0(void **state) {
  (void)state;
  /* 1048575 B is 1023.999 KiB: printed with one decimal that would read "1024.0 KiB" */
  check(1048575, "1.0 MiB");
  check(1023 * 1024, "1023.0 KiB");
}

static void test_truncates_to_buffer(void **state) {
  (void)state;
  char buf[5];
  assert_string_equal(adx_bytes_str(4096, buf, sizeof buf), "4.0 ");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_counts_are_bytes),
      cmocka_unit_test(test_units),
      cmocka_unit_test(test_no_1024_point_0),
      cmocka_unit_test(test_truncates_to_buffer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
