/* Ground-truth metrics (docs/metrics.md, "Ground truth") on hand-derived cases. Image 4x4 (HW = 16), so
 * the top-k counts are ceil(5*16/100) = 1, ceil(10*16/100) = 2, ceil(20*16/100) = 4, ceil(40*16/100) = 7.
 * The object is the left half (columns 0 and 1): pixels 0,1,4,5,8,9,12,13. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "adx/metrics.h"

#define HW 16

static void left_half(uint8_t *mask) {
  for (int p = 0; p < HW; p++) mask[p] = (p % 4) < 2;
}

static void test_ranking_and_reverse(void **state) {
  (void)state;
  uint8_t mask[HW];
  left_half(mask);
  int32_t fwd[HW], rev[HW];
  for (int i = 0; i < HW; i++) fwd[i] = i, rev[i] = HW - 1 - i;
  float pk[ADX_ROB_K];
  /* identity ranking: top 1 {0}, top 2 {0,1}, top 4 {0..3}: 0,1 in, top 7 {0..6}: 0,1,4,5 in */
  assert_float_equal(adx_gt_pointing_game(fwd, mask, HW), 1.0, 0);
  adx_gt_precision_at_k(fwd, mask, HW, pk);
  assert_float_equal(pk[0], 1.0, 1e-7);
  assert_float_equal(pk[1], 1.0, 1e-7);
  assert_float_equal(pk[2], 0.5, 1e-7);
  assert_float_equal(pk[3], 4.0 / 7.0, 1e-7);
  /* reversed: top 1 {15} out, top 2 {15,14} out, top 4 {15..12}: 13,12 in, top 7 {15..9}: 13,12,9 in */
  assert_float_equal(adx_gt_pointing_game(rev, mask, HW), 0.0, 0);
  adx_gt_precision_at_k(rev, mask, HW, pk);
  assert_float_equal(pk[0], 0.0, 1e-7);
  assert_float_equal(pk[1], 0.0, 1e-7);
  assert_float_equal(pk[2], 0.5, 1e-7);
  assert_float_equal(pk[3], 3.0 / 7.0, 1e-7);
}

static void test_energy(void **state) {
  (void)state;
  uint8_t mask[HW];
  left_half(mask);
  float map[HW];
  /* map[p] = p - 2: positive parts are p - 2 for p >= 3, sum 1 + ... + 13 = 91; on the object (4,5,8,9,
   * 12,13): 2+3+6+7+10+11 = 39; 39/91 = 3/7. Negative values count 0. */
  for (int p = 0; p < HW; p++) map[p] = (float)(p - 2);
  assert_float_equal(adx_gt_energy_in_object(map, mask, HW), 3.0 / 7.0, 1e-7);
  /* a NaN counts 0: replace pixel 15 (13, outside) by NaN -> 39 / 78 = 0.5 */
  map[15] = NAN;
  assert_float_equal(adx_gt_energy_in_object(map, mask, HW), 0.5, 1e-7);
  /* a map without positive mass -> NaN */
  for (int p = 0; p < HW; p++) map[p] = p % 2 ? -1.0f : 0.0f;
  assert_true(isnan(adx_gt_energy_in_object(map, mask, HW)));
  /* all mass inside -> 1 */
  for (int p = 0; p < HW; p++) map[p] = mask[p] ? 2.0f : 0.0f;
  assert_float_equal(adx_gt_energy_in_object(map, mask, HW), 1.0, 0);
}

static void test_compute_with_rank_pixels(void **state) {
  (void)state;
  uint8_t mask[HW];
  left_half(mask);
  /* a tie for the maximum at pixels 3 (outside) and 8 (inside): the ranking takes the first maximum in
   * index order, pixel 3, so the pointing game is 0 */
  float map[HW] = {0};
  map[3] = 5, map[8] = 5, map[9] = 1;
  int32_t order[HW];
  adx_rank_pixels(map, 4, 4, order);
  adx_gt g;
  adx_gt_compute(map, order, mask, HW, &g);
  assert_float_equal(g.pointing_game, 0.0, 0);
  assert_float_equal(g.energy_in_object, 6.0 / 11.0, 1e-7);
  assert_float_equal(g.precision_at_k[0], 0.0, 1e-7);
  assert_float_equal(g.precision_at_k[1], 0.5, 1e-7); /* {3, 8} */
  /* the same map mirrored so that the first maximum is inside */
  float m2[HW] = {0};
  m2[0] = 5, m2[15] = 5;
  adx_rank_pixels(m2, 4, 4, order);
  adx_gt_compute(m2, order, mask, HW, &g);
  assert_float_equal(g.pointing_game, 1.0, 0);
  assert_float_equal(g.energy_in_object, 0.5, 1e-7);
}

static void test_empty_mask(void **state) {
  (void)state;
  uint8_t mask[HW] = {0};
  float map[HW];
  int32_t order[HW];
  for (int p = 0; p < HW; p++) map[p] = (float)p, order[p] = p;
  adx_gt g;
  adx_gt_compute(map, order, mask, HW, &g);
  assert_true(isnan(g.pointing_game));
  assert_true(isnan(g.energy_in_object));
  for (int j = 0; j < ADX_ROB_K; j++) assert_true(isnan(g.precision_at_k[j]));
  adx_gt_clear(&g);
  assert_true(isnan(g.pointing_game));
}

static void test_centre(void **state) {
  (void)state;
  /* 3x3: centre pixel 4, then the edge midpoints 1,3,5,7 (distance 1), then the corners 0,2,6,8 */
  float map[HW];
  int32_t order[HW];
  adx_gt_centre_ranking(3, 3, map, order);
  const int32_t want3[9] = {4, 1, 3, 5, 7, 0, 2, 6, 8};
  for (int i = 0; i < 9; i++) assert_int_equal(order[i], want3[i]);
  assert_float_equal(map[4], sqrt(2.0), 1e-6); /* dmax = sqrt(2): the corners */
  assert_float_equal(map[1], sqrt(2.0) - 1, 1e-6);
  assert_float_equal(map[8], 0.0, 1e-6);
  /* 4x4: centre (1.5, 1.5): the inner 4, then the 8 edge pixels next to them, then the corners */
  adx_gt_centre_ranking(4, 4, map, order);
  const int32_t want4[HW] = {5, 6, 9, 10, 1, 2, 4, 7, 8, 11, 13, 14, 0, 3, 12, 15};
  for (int i = 0; i < HW; i++) assert_int_equal(order[i], want4[i]);
  uint8_t mask[HW];
  left_half(mask);
  adx_gt g;
  adx_gt_centre(mask, 4, 4, map, order, &g);
  assert_float_equal(g.pointing_game, 1.0, 0);            /* pixel 5 */
  assert_float_equal(g.energy_in_object, 0.5, 1e-6);      /* the map is symmetric left-right */
  assert_float_equal(g.precision_at_k[0], 1.0, 1e-7);     /* {5} */
  assert_float_equal(g.precision_at_k[1], 0.5, 1e-7);     /* {5,6} */
  assert_float_equal(g.precision_at_k[2], 0.5, 1e-7);     /* {5,6,9,10} */
  assert_float_equal(g.precision_at_k[3], 4.0 / 7, 1e-7); /* + {1,2,4}: 5,9,1,4 in */
  /* the object in the right column of a 3x3 image: the centre misses it */
  uint8_t right[9] = {0, 0, 1, 0, 0, 1, 0, 0, 1};
  adx_gt_centre(right, 3, 3, map, order, &g);
  assert_float_equal(g.pointing_game, 0.0, 0);
  /* energy: (2 * 0 + (sqrt2 - 1)) / (sqrt2 + 4 (sqrt2 - 1)) */
  double r2 = sqrt(2.0);
  assert_float_equal(g.energy_in_object, (r2 - 1) / (r2 + 4 * (r2 - 1)), 1e-6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ranking_and_reverse),
      cmocka_unit_test(test_energy),
      cmocka_unit_test(test_compute_with_rank_pixels),
      cmocka_unit_test(test_empty_mask),
      cmocka_unit_test(test_centre),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
