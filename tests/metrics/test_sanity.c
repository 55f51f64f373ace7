/* Sanity-check metrics against values derived by hand: the Spearman rank correlation (with ties, averaged
 * ranks), the centroid and border share of the top of a ranking, and the centroid of a mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "adx/metrics.h"

static void test_spearman_exact(void **state) {
  (void)state;
  /* a monotone transform has rho 1, a reversed order -1 */
  float a[5] = {1, 2, 3, 4, 5}, sq[5] = {1, 4, 9, 16, 25}, rev[5] = {0.5f, 0.4f, 0.3f, 0.2f, 0.1f};
  assert_float_equal(adx_spearman(a, sq, 5), 1.0, 1e-15);
  assert_float_equal(adx_spearman(a, rev, 5), -1.0, 1e-15);
  /* no ties: 1 - 6 sum d^2 / (n (n^2 - 1)); ranks of b are 1 3 2 4, sum d^2 = 2 -> 1 - 12/60 = 0.8 */
  float x[4] = {10, 20, 30, 40}, y[4] = {1, 3, 2, 4};
  assert_float_equal(adx_spearman(x, y, 4), 0.8, 1e-15);
  /* order of the input does not matter */
  float x2[4] = {40, 10, 30, 20}, y2[4] = {4, 1, 2, 3};
  assert_float_equal(adx_spearman(x2, y2, 4), 0.8, 1e-15);
}

static void test_spearman_ties(void **state) {
  (void)state;
  /* b = 5 6 7 8 7: ranks 1 2 3.5 5 3.5 (the two 7s share ranks 3 and 4). Centred on the mean rank 3:
   * a -> -2 -1 0 1 2, b -> -2 -1 0.5 2 0.5; sum ab = 8, sum aa = 10, sum bb = 9.5 -> 8 / sqrt(95) */
  float a[5] = {1, 2, 3, 4, 5}, b[5] = {5, 6, 7, 8, 7};
  assert_float_equal(adx_spearman(a, b, 5), 8.0 / sqrt(95.0), 1e-15);
  assert_float_equal(adx_spearman(b, a, 5), 8.0 / sqrt(95.0), 1e-15);
  /* ties on both sides: ranks 1.5 1.5 3.5 3.5 against 1.5 3.5 1.5 3.5 -> centred -1 -1 1 1 . -1 1 -1 1 -> 0
   */
  float c[4] = {1, 1, 2, 2}, d[4] = {1, 2, 1, 2};
  assert_float_equal(adx_spearman(c, d, 4), 0.0, 1e-15);
  /* three-way tie: e = 0 0 0 1 -> ranks 2 2 2 4, centred -0.5 -0.5 -0.5 1.5 (sum sq 3); against
   * 1 2 3 4 (centred -1.5 -0.5 0.5 1.5, sum sq 5): sum = 0.75 + 0.25 - 0.25 + 2.25 = 3 -> 3 / sqrt(15) */
  float e[4] = {0, 0, 0, 1}, f[4] = {1, 2, 3, 4};
  assert_float_equal(adx_spearman(e, f, 4), 3.0 / sqrt(15.0), 1e-15);
}

static void test_spearman_undefined(void **state) {
  (void)state;
  float a[3] = {1, 2, 3}, cst[3] = {7, 7, 7}, nan3[3] = {1, NAN, 3};
  assert_true(isnan(adx_spearman(a, cst, 3))); /* no variance */
  assert_true(isnan(adx_spearman(cst, a, 3)));
  assert_true(isnan(adx_spearman(a, a, 1)));
  assert_true(isnan(adx_spearman(a, a, 0)));
  assert_true(isnan(adx_spearman(a, nan3, 3)));
}

static void test_position(void **state) {
  (void)state;
  /* 10 x 10: the top 10% is 10 pixels; the whole first row -> centroid (0, 4.5), all in the band */
  int32_t order[144];
  for (int i = 0; i < 100; i++) order[i] = i;
  adx_position p;
  adx_position_of(order, 10, 10, 10, 5, &p);
  assert_int_equal(p.n, 10);
  assert_float_equal(p.row, 0.0, 1e-15);
  assert_float_equal(p.col, 4.5, 1e-15);
  assert_float_equal(p.border, 1.0, 1e-15);
  /* 12 x 12 = 144 pixels: ceil(14.4) = 15 top pixels: row 5 (12 pixels), then (6,5) (6,6) (6,7).
   * centroid row (12*5 + 3*6)/15 = 5.2, col (66 + 18)/15 = 5.6; band 2: (5,0) (5,1) (5,10) (5,11) -> 4/15 */
  int k = 0;
  for (int c = 0; c < 12; c++) order[k++] = 5 * 12 + c;
  for (int c = 5; c < 8; c++) order[k++] = 6 * 12 + c;
  for (int i = 0; i < 144; i++) /* the rest: any pixel not listed, never counted */
    if (i / 12 != 5 && !(i / 12 == 6 && i % 12 >= 5 && i % 12 < 8)) order[k++] = i;
  assert_int_equal(k, 144);
  adx_position_of(order, 12, 12, 10, 2, &p);
  assert_int_equal(p.n, 15);
  assert_float_equal(p.row, 5.2, 1e-12);
  assert_float_equal(p.col, 5.6, 1e-12);
  assert_float_equal(p.border, 4.0 / 15.0, 1e-15);
  /* band 0: nothing is in the border */
  adx_position_of(order, 12, 12, 10, 0, &p);
  assert_float_equal(p.border, 0.0, 0.0);
  /* a 1 x 3 image: ceil(0.3) = 1 pixel, the first of the order; every pixel is within 5 of an edge */
  int32_t o3[3] = {2, 0, 1};
  adx_position_of(o3, 1, 3, 10, 5, &p);
  assert_int_equal(p.n, 1);
  assert_float_equal(p.row, 0.0, 0.0);
  assert_float_equal(p.col, 2.0, 0.0);
  assert_float_equal(p.border, 1.0, 0.0);
  adx_position_of(o3, 0, 3, 10, 5, &p);
  assert_true(isnan(p.row) && isnan(p.col) && isnan(p.border));
}

static void test_mask_centroid(void **state) {
  (void)state;
  uint8_t m[16] = {0};
  m[0] = 1;         /* (0,0) */
  m[1 * 4 + 2] = 3; /* (1,2): any nonzero value counts */
  m[3 * 4 + 3] = 1; /* (3,3) */
  double r, c;
  assert_int_equal(adx_mask_centroid(m, 4, 4, &r, &c), 3);
  assert_float_equal(r, 4.0 / 3.0, 1e-15);
  assert_float_equal(c, 5.0 / 3.0, 1e-15);
  uint8_t z[16] = {0};
  assert_int_equal(adx_mask_centroid(z, 4, 4, &r, &c), 0);
  assert_true(isnan(r) && isnan(c));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spearman_exact),     cmocka_unit_test(test_spearman_ties),
      cmocka_unit_test(test_spearman_undefined), cmocka_unit_test(test_position),
      cmocka_unit_test(test_mask_centroid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
