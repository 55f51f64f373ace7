/* Summary statistics: trapezoid areas of known curves, mean/std/CI on hand-computed sets, and Student t
 * quantiles against closed forms (dof 1, 2) and standard table values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "adx/metrics.h"

static void test_trapezoid(void **state) {
  (void)state;
  double lin[5] = {0, 0.25, 0.5, 0.75, 1.0};
  assert_float_equal(adx_trapezoid(lin, 5), 0.5, 1e-15); /* exact for straight lines */
  double two[2] = {0, 1};
  assert_float_equal(adx_trapezoid(two, 2), 0.5, 1e-15);
  double cst[7] = {2, 2, 2, 2, 2, 2, 2};
  assert_float_equal(adx_trapezoid(cst, 7), 2.0, 1e-15);
  /* y = x^2 on 11 points: the trapezoid rule gives 1/3 + h^2/6 with h = 0.1 */
  double sq[11];
  for (int i = 0; i < 11; i++) sq[i] = (i / 10.0) * (i / 10.0);
  assert_float_equal(adx_trapezoid(sq, 11), 1.0 / 3.0 + 0.01 / 6.0, 1e-14);
  /* a step: 0 0 1 1 over 4 points -> (0 + 0.5 + 1) / 3 */
  double step[4] = {0, 0, 1, 1};
  assert_float_equal(adx_trapezoid(step, 4), 0.5, 1e-15);
  double one[1] = {3};
  assert_true(isnan(adx_trapezoid(one, 1)));
  assert_true(isnan(adx_trapezoid(one, 0)));
}

static void test_t_quantile(void **state) {
  (void)state;
  const double pi = 3.14159265358979323846;
  /* dof 1 is the Cauchy distribution: tan(pi (p - 1/2)) */
  assert_float_equal(adx_t_quantile(0.975, 1), tan(pi * 0.475), 1e-9);
  assert_float_equal(adx_t_quantile(0.975, 1), 12.7062, 1e-4);
  /* dof 2: t = (2p - 1) / sqrt(2 p (1 - p)) */
  assert_float_equal(adx_t_quantile(0.975, 2), 0.95 / sqrt(2 * 0.975 * 0.025), 1e-9);
  assert_float_equal(adx_t_quantile(0.9, 2), 0.8 / sqrt(2 * 0.9 * 0.1), 1e-9);
  /* standard table values */
  assert_float_equal(adx_t_quantile(0.975, 3), 3.182446305, 1e-7);
  assert_float_equal(adx_t_quantile(0.975, 10), 2.228138852, 1e-7);
  assert_float_equal(adx_t_quantile(0.975, 30), 2.042272456, 1e-7);
  assert_float_equal(adx_t_quantile(0.975, 1000), 1.962339, 1e-6);
  assert_float_equal(adx_t_quantile(0.95, 5), 2.015048373, 1e-7);
  assert_float_equal(adx_t_quantile(0.995, 20), 2.845339710, 1e-7);
  /* large dof -> the normal quantile 1.959964 */
  assert_float_equal(adx_t_quantile(0.975, 1e6), 1.959966, 1e-6);
  assert_float_equal(adx_t_quantile(0.975, 1e12), 1.959963985, 1e-8);
  /* the two methods agree across the switch at dof 1e5 */
  assert_float_equal(adx_t_quantile(0.975, 99999.0), adx_t_quantile(0.975, 100001.0), 1e-8);
  /* symmetry, centre, invalid arguments */
  assert_float_equal(adx_t_quantile(0.025, 10), -2.228138852, 1e-7);
  assert_float_equal(adx_t_quantile(0.5, 7), 0.0, 0.0);
  assert_true(isnan(adx_t_quantile(0.0, 3)));
  assert_true(isnan(adx_t_quantile(1.0, 3)));
  assert_true(isnan(adx_t_quantile(0.975, 0)));
  assert_true(isnan(adx_t_quantile(NAN, 3)));
}

static void test_summarize(void **state) {
  (void)state;
  adx_summary s;
  double v[4] = {1, 2, 3, 4};
  adx_summarize(v, 4, &s);
  assert_int_equal(s.n, 4);
  assert_float_equal(s.mean, 2.5, 1e-15);
  assert_float_equal(s.std, 1.290994449, 1e-9); /* sqrt(5/3) */
  double half = 3.182446305 * 1.290994449 / 2.0;
  assert_float_equal(s.ci95_low, 2.5 - half, 1e-7);
  assert_float_equal(s.ci95_high, 2.5 + half, 1e-7);

  double one[1] = {0.7};
  adx_summarize(one, 1, &s);
  assert_int_equal(s.n, 1);
  assert_float_equal(s.mean, 0.7, 0);
  assert_float_equal(s.std, 0.0, 0);
  assert_true(isnan(s.ci95_low) && isnan(s.ci95_high));

  adx_summarize(NULL, 0, &s);
  assert_int_equal(s.n, 0);
  assert_true(isnan(s.mean) && isnan(s.std) && isnan(s.ci95_low) && isnan(s.ci95_high));

  /* NaN values are skipped: {1, NaN, 3} is {1, 3}: mean 2, std sqrt(2), half = 12.7062 * sqrt(2) / sqrt(2) */
  double holes[3] = {1, NAN, 3};
  adx_summarize(holes, 3, &s);
  assert_int_equal(s.n, 2);
  assert_float_equal(s.mean, 2.0, 1e-15);
  assert_float_equal(s.std, sqrt(2.0), 1e-12);
  assert_float_equal(s.ci95_high - s.mean, 12.7062047362, 1e-8);
  double allnan[2] = {NAN, NAN};
  adx_summarize(allnan, 2, &s);
  assert_int_equal(s.n, 0);
  assert_true(isnan(s.mean));

  /* identical values: std 0, CI collapses to the mean */
  double same[3] = {5, 5, 5};
  adx_summarize(same, 3, &s);
  assert_float_equal(s.std, 0.0, 0);
  assert_float_equal(s.ci95_low, 5.0, 0);
  assert_float_equal(s.ci95_high, 5.0, 0);
}

/* Two-sided t p-values against closed forms: dof 1 (Cauchy) P(|T| >= t) = 1 - (2/pi) atan t; dof 2
 * P(|T| >= t) = 1 - t / sqrt(2 + t^2); dof 3 F(t) = 1/2 + (1/pi) (t / (sqrt 3 (1 + t^2/3)) + atan(t / sqrt
 * 3)). */
static void test_t_pvalue(void **state) {
  (void)state;
  assert_float_equal(adx_t_pvalue(1.0, 1), 0.5, 1e-12);
  assert_float_equal(adx_t_pvalue(-sqrt(3.0), 1), 1.0 / 3.0, 1e-12);
  assert_float_equal(adx_t_pvalue(sqrt(2.0), 2), 1.0 - sqrt(2.0) / 2.0, 1e-12);
  double t = sqrt(6.0), F = 0.5 + (t / (sqrt(3.0) * (1 + t * t / 3)) + atan(t / sqrt(3.0))) / M_PI;
  assert_float_equal(adx_t_pvalue(t, 3), 2 * (1 - F), 1e-12);
  assert_float_equal(adx_t_pvalue(0.0, 7), 1.0, 1e-15);
  assert_float_equal(adx_t_pvalue(INFINITY, 7), 0.0, 0);
  assert_true(isnan(adx_t_pvalue(NAN, 3)));
  assert_true(isnan(adx_t_pvalue(1.0, 0)));
  /* consistent with the quantile: the 97.5% point has p = 0.05 */
  assert_float_equal(adx_t_pvalue(adx_t_quantile(0.975, 9), 9), 0.05, 1e-10);
}

/* Holm by hand: {0.01, 0.04, 0.03, 0.005, NaN}: 4 in the family; sorted 0.005, 0.01, 0.03, 0.04 ->
 * 4*0.005 = 0.02, 3*0.01 = 0.03, 2*0.03 = 0.06, max(0.06, 1*0.04) = 0.06 (the step-down keeps it monotone).
 */
static void test_holm(void **state) {
  (void)state;
  double p[5] = {0.01, 0.04, 0.03, 0.005, NAN}, adj[5];
  adx_holm(p, 5, adj);
  assert_float_equal(adj[0], 0.03, 1e-15);
  assert_float_equal(adj[1], 0.06, 1e-15);
  assert_float_equal(adj[2], 0.06, 1e-15);
  assert_float_equal(adj[3], 0.02, 1e-15);
  assert_true(isnan(adj[4]));
  /* capped at 1, in place, ties keep their order */
  double q[3] = {0.5, 0.5, 0.9};
  adx_holm(q, 3, q);
  assert_float_equal(q[0], 1.0, 0);
  assert_float_equal(q[1], 1.0, 0);
  assert_float_equal(q[2], 1.0, 0);
  /* Holm is not Bonferroni: the largest of {0.01, 0.02} stays 0.02 */
  double r[2] = {0.02, 0.01};
  adx_holm(r, 2, r);
  assert_float_equal(r[0], 0.02, 1e-15);
  assert_float_equal(r[1], 0.02, 1e-15);
  adx_holm(NULL, 0, NULL);
}

/* The paired difference beside the ratio: a = {1,2,3,4}, f = {0,2,2,2}: d = {1,0,1,2}, mean 1, sd sqrt(2/3),
 * se sqrt(2/3)/2, half-width t(0.975, 3) se = 1.2992282636 (scipy), t = sqrt 6 at 3 dof, p = 0.0917211133
 * (scipy.stats.ttest_rel); relative (10/4) / (6/4) - 1 = 2/3. */
static void test_paired_difference(void **state) {
  (void)state;
  double a[5] = {1, 2, 3, 4, NAN}, f[5] = {0, 2, 2, 2, 7};
  adx_ad_vs v;
  adx_rel_improvement(a, f, 5, &v);
  assert_int_equal(v.n, 4);
  assert_float_equal(v.improvement, 2.0 / 3.0, 1e-15);
  assert_float_equal(v.diff, 1.0, 1e-15);
  assert_float_equal(v.diff_ci95_high - v.diff, 1.2992282636, 1e-8);
  assert_float_equal(v.diff - v.diff_ci95_low, 1.2992282636, 1e-8);
  assert_float_equal(v.p, 0.0917211133, 1e-9);
  assert_true(isnan(v.p_holm));
  /* every pair differs by the same amount: no spread, p 0; no difference at all: p 1 */
  double g[3] = {1, 2, 3}, h[3] = {0.5, 1.5, 2.5};
  adx_rel_improvement(g, h, 3, &v);
  assert_float_equal(v.diff, 0.5, 1e-15);
  assert_float_equal(v.p, 0.0, 0);
  adx_rel_improvement(g, g, 3, &v);
  assert_float_equal(v.p, 1.0, 0);
  /* the difference exists where the ratio does not (mean fill 0) */
  double z[2] = {0, 0}, o[2] = {0.5, 1.5};
  adx_rel_improvement(o, z, 2, &v);
  assert_true(isnan(v.improvement));
  assert_float_equal(v.diff, 1.0, 1e-15);
}

/* The p-value of a summary of paired differences, against scipy.stats.ttest_1samp(d, 0):
 * d = {0.25, -0.5, 0.75, 1.0, 0.5} -> 0.19513791758605345; d = {1, 0, 1, 2} -> 0.09172111331157187 (the
 * paired example above). Fewer than 2 values: NaN; no spread: 0, or 1 when every difference is 0. */
static void test_summary_pvalue(void **state) {
  (void)state;
  adx_summary s;
  double d[6] = {0.25, -0.5, NAN, 0.75, 1.0, 0.5};
  adx_summarize(d, 6, &s);
  assert_float_equal(adx_summary_pvalue(&s), 0.19513791758605345, 1e-10);
  double e[4] = {1, 0, 1, 2};
  adx_summarize(e, 4, &s);
  assert_float_equal(adx_summary_pvalue(&s), 0.09172111331157187, 1e-10);
  adx_summarize(e, 1, &s);
  assert_true(isnan(adx_summary_pvalue(&s)));
  adx_summarize(e, 0, &s);
  assert_true(isnan(adx_summary_pvalue(&s)));
  double c[3] = {0.3, 0.3, 0.3}, z[3] = {0, 0, 0};
  adx_summarize(c, 3, &s);
  assert_float_equal(adx_summary_pvalue(&s), 0.0, 0);
  adx_summarize(z, 3, &s);
  assert_float_equal(adx_summary_pvalue(&s), 1.0, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trapezoid),
      cmocka_unit_test(test_t_quantile),
      cmocka_unit_test(test_summarize),
      cmocka_unit_test(test_t_pvalue),
      cmocka_unit_test(test_holm),
      cmocka_unit_test(test_summary_pvalue),
      cmocka_unit_test(test_paired_difference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
