/* Summary statistics for the metrics: trapezoid areas, mean / sample std / 95% t confidence interval,
 * and the Student t quantile behind it (bisection on the t CDF, which is a regularized incomplete beta
 * function evaluated by its continued fraction; Cornish-Fisher expansion for very large dof), and the
 * relative improvement of paired means with its delta-method interval, the paired difference and t-test
 * (adx_rel_improvement), Holm's correction (adx_holm); and the same
 * over the images of a run (done flags, per-class means), the one computation behind a results file's
 * /summary and adx summary / adx report. */
#include <math.h>
#include <stdlib.h>

#include "adx/metrics.h"

double adx_trapezoid(const double *y, int n) {
  if (n < 2) return NAN;
  double s = 0.5 * (y[0] + y[n - 1]);
  for (int i = 1; i < n - 1; i++) s += y[i];
  return s / (double)(n - 1);
}

/* Continued fraction of the incomplete beta function (modified Lentz), valid for x < (a+1)/(a+b+2). */
static double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-16;
  double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 - qab * x / qap;
  if (fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 200000; m++) {
    double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    double del = d * c;
    h *= del;
    if (fabs(del - 1.0) < eps) break;
  }
  return h;
}

/* Regularized incomplete beta I_x(a, b), with y = 1 - x given separately (no cancellation near 1). */
static double ibeta(double a, double b, double x, double y) {
  if (x <= 0) return 0.0;
  if (y <= 0) return 1.0;
  double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(y);
  double bt = exp(lbt);
  if (x < (a + 1.0) / (a + b + 2.0)) return bt * beta_cf(a, b, x) / a;
  return 1.0 - bt * beta_cf(b, a, y) / b;
}

/* Upper tail P(T > t) for t >= 0: 0.5 * I_{dof/(dof+t^2)}(dof/2, 1/2). */
static double t_upper_tail(double t, double dof) {
  double t2 = t * t, den = dof + t2;
  return 0.5 * ibeta(0.5 * dof, 0.5, dof / den, t2 / den);
}

/* Standard normal quantile by bisection on 0.5 erfc(-x / sqrt 2), for p in (0.5, 1). */
static double normal_quantile_upper(double p) {
  double q = 1.0 - p, lo = 0.0, hi = 1.0;
  while (0.5 * erfc(hi / sqrt(2.0)) > q) hi *= 2.0;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    double mid = 0.5 * (lo + hi);
    if (0.5 * erfc(mid / sqrt(2.0)) > q)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

double adx_t_quantile(double p, double dof) {
  if (!(p > 0.0 && p < 1.0) || !(dof > 0.0)) return NAN;
  if (p == 0.5) return 0.0;
  if (p < 0.5) return -adx_t_quantile(1.0 - p, dof);
  if (dof > 1e5) {
    /* Cornish-Fisher (Fisher 1926 / Hill 1970): error O(z^11 / dof^5), far below 1e-12 here. */
    double z = normal_quantile_upper(p), z2 = z * z, g1, g2, g3, g4;
    g1 = (z2 + 1.0) * z / 4.0;
    g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    return z + g1 / dof + g2 / (dof * dof) + g3 / (dof * dof * dof) + g4 / (dof * dof * dof * dof);
  }
  double q = 1.0 - p, lo = 0.0, hi = 1.0;
  while (t_upper_tail(hi, dof) > q && hi < 1e300) hi *= 2.0;
  for (int i = 0; i < 400 && hi - lo > 1e-15 * hi; i++) {
    double mid = 0.5 * (lo + hi);
    if (t_upper_tail(mid, dof) > q)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

void adx_summarize(const double *v, int64_t n, adx_summary *s) {
  double sum = 0;
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(v[i])) {
      sum += v[i];
      m++;
    }
  s->n = m;
  s->mean = s->std = s->ci95_low = s->ci95_high = NAN;
  if (m == 0) return;
  double mean = sum / (double)m;
  s->mean = mean;
  if (m == 1) {
    s->std = 0.0;
    return;
  }
  double ss = 0;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(v[i])) ss += (v[i] - mean) * (v[i] - mean);
  s->std = sqrt(ss / (double)(m - 1));
  double half = adx_t_quantile(0.975, (double)(m - 1)) * s->std / sqrt((double)m);
  s->ci95_low = mean - half;
  s->ci95_high = mean + half;
}

double adx_t_pvalue(double t, double dof) {
  if (isnan(t) || !(dof > 0.0)) return NAN;
  if (isinf(t)) return 0.0;
  double p = 2.0 * t_upper_tail(fabs(t), dof);
  return p > 1.0 ? 1.0 : p;
}

void adx_holm(const double *p, int m, double *adj) {
  int *idx = malloc(sizeof *idx * (size_t)(m > 0 ? m : 1)), k = 0;
  double *v = malloc(sizeof *v * (size_t)(m > 0 ? m : 1));
  if (!idx || !v) { /* no memory: the most conservative answer, Bonferroni */
    int mm = 0;
    for (int i = 0; i < m; i++) mm += !isnan(p[i]);
    for (int i = 0; i < m; i++) adj[i] = isnan(p[i]) ? NAN : fmin(1.0, p[i] * mm);
    free(idx), free(v);
    return;
  }
  for (int i = 0; i < m; i++)
    if (!isnan(p[i])) idx[k++] = i;
  for (int i = 1; i < k; i++) /* insertion sort by p, stable (tables are small) */
    for (int j = i; j > 0 && p[idx[j]] < p[idx[j - 1]]; j--) {
      int t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
  double run = 0.0;
  for (int j = 0; j < k; j++) {
    double a = fmin(1.0, (double)(k - j) * p[idx[j]]);
    run = fmax(run, a);
    v[j] = run;
  }
  for (int i = 0; i < m; i++)
    if (isnan(p[i])) adj[i] = NAN;
  for (int j = 0; j < k; j++) adj[idx[j]] = v[j];
  free(idx), free(v);
}

double adx_summary_pvalue(const adx_summary *d) {
  if (d->n < 2 || isnan(d->mean) || isnan(d->std)) return NAN;
  if (d->std == 0) return d->mean == 0 ? 1.0 : 0.0;
  return adx_t_pvalue(d->mean / (d->std / sqrt((double)d->n)), (double)(d->n - 1));
}

/* Mean difference of the pairs with its 95% t interval and the paired t-test p-value. */
static void paired_difference(const double *a, const double *f, int64_t n, int64_t k, double ma, double mf,
                              adx_ad_vs *out) {
  out->diff = ma - mf;
  if (k < 2) return;
  double ss = 0;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(a[i]) && !isnan(f[i])) {
      double d = (a[i] - f[i]) - out->diff;
      ss += d * d;
    }
  double se = sqrt(ss / (double)(k - 1) / (double)k);
  double half = adx_t_quantile(0.975, (double)(k - 1)) * se;
  out->diff_ci95_low = out->diff - half;
  out->diff_ci95_high = out->diff + half;
  if (se > 0)
    out->p = adx_t_pvalue(out->diff / se, (double)(k - 1));
  else
    out->p = out->diff == 0 ? 1.0 : 0.0; /* every pair differs by the same amount */
}

void adx_rel_improvement(const double *a, const double *f, int64_t n, adx_ad_vs *out) {
  int64_t k = 0;
  double sa = 0, sf = 0;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(a[i]) && !isnan(f[i])) sa += a[i], sf += f[i], k++;
  out->n = k;
  out->improvement = out->ci95_low = out->ci95_high = out->mean_ad = out->mean_fill = NAN;
  out->diff = out->diff_ci95_low = out->diff_ci95_high = out->p = out->p_holm = NAN;
  if (k == 0) return;
  double ma = sa / (double)k, mf = sf / (double)k;
  out->mean_ad = ma, out->mean_fill = mf;
  paired_difference(a, f, n, k, ma, mf, out);
  if (mf == 0) return; /* no relative change from zero */
  double ratio = ma / mf;
  out->improvement = ratio - 1;
  if (k < 2) return;
  /* delta method: Var(ma/mf) ~ Var(a - ratio*f) / (k mf^2) (the sample mean of a - ratio*f is 0) */
  double ss = 0;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(a[i]) && !isnan(f[i])) {
      double d = a[i] - ratio * f[i];
      ss += d * d;
    }
  double se = sqrt(ss / (double)(k - 1) / (double)k) / fabs(mf);
  double half = adx_t_quantile(0.975, (double)(k - 1)) * se;
  out->ci95_low = out->improvement - half;
  out->ci95_high = out->improvement + half;
}

/* ---- over the images of a run ---- */

/* Values of col over the images done into x (order kept); returns the count. */
static int64_t gather_done(const double *col, const uint8_t *done, int64_t n, double *x) {
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++)
    if (done[i]) x[k++] = col[i];
  return k;
}

void adx_summarize_done(const double *col, const uint8_t *done, int64_t n, double *scratch, adx_summary *s) {
  adx_summarize(scratch, gather_done(col, done, n, scratch), s);
}

void adx_rel_improvement_done(const double *ad, const double *fill, const uint8_t *done, int64_t n,
                              double *scratch, adx_ad_vs *v) {
  int64_t k = gather_done(ad, done, n, scratch);
  gather_done(fill, done, n, scratch + n);
  adx_rel_improvement(scratch, scratch + n, k, v);
}

int adx_image_class(int32_t label, int32_t pred, int nclasses) {
  if (label >= 0 && label < nclasses) return label;
  if (pred >= 0 && pred < nclasses) return pred;
  return -1;
}

void adx_class_means(const double *col, const uint8_t *done, const int32_t *label, const int32_t *pred,
                     int64_t n, int nclasses, double *mean, int64_t *count) {
  for (int c = 0; c < nclasses; c++) mean[c] = 0, count[c] = 0;
  for (int64_t i = 0; i < n; i++) {
    int c = adx_image_class(label[i], pred[i], nclasses);
    if (done[i] && c >= 0 && !isnan(col[i])) mean[c] += col[i], count[c]++;
  }
  for (int c = 0; c < nclasses; c++) mean[c] = count[c] ? mean[c] / (double)count[c] : NAN;
}
