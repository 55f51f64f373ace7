/* Sanity checks of explanations (docs/metrics.md "Sanity checks"): the Spearman rank correlation that the
 * cascading model randomisation reports, and the position of the top of a ranking (position bias). */
#include <math.h>
#include <stdlib.h>

#include "adx/metrics.h"

typedef struct keyed {
  float v;
  int64_t i;
} keyed;

static int cmp_keyed(const void *pa, const void *pb) {
  const keyed *a = pa, *b = pb;
  if (a->v < b->v) return -1;
  if (a->v > b->v) return 1;
  return (a->i > b->i) - (a->i < b->i);
}

/* rank[i] = 1-based rank of v[i], ties averaged; k: n scratch entries. 0 when a value is NaN. */
static int ranks(const float *v, int64_t n, keyed *k, double *rank) {
  for (int64_t i = 0; i < n; i++) {
    if (isnan(v[i])) return 0;
    k[i].v = v[i];
    k[i].i = i;
  }
  qsort(k, (size_t)n, sizeof *k, cmp_keyed);
  for (int64_t lo = 0; lo < n;) {
    int64_t hi = lo + 1;
    while (hi < n && k[hi].v == k[lo].v) hi++;
    double r = 0.5 * (double)(lo + 1 + hi); /* mean of the ranks lo+1 .. hi */
    for (int64_t j = lo; j < hi; j++) rank[k[j].i] = r;
    lo = hi;
  }
  return 1;
}

double adx_spearman(const float *a, const float *b, int64_t n) {
  if (n < 2) return NAN;
  keyed *k = malloc((size_t)n * sizeof *k);
  double *ra = malloc((size_t)n * sizeof *ra), *rb = malloc((size_t)n * sizeof *rb);
  double rho = NAN;
  if (k && ra && rb && ranks(a, n, k, ra) && ranks(b, n, k, rb)) {
    double mean = 0.5 * (double)(n + 1); /* the mean of any average-rank vector */
    double sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; i++) {
      double da = ra[i] - mean, db = rb[i] - mean;
      sab += da * db;
      saa += da * da;
      sbb += db * db;
    }
    if (saa > 0 && sbb > 0) rho = sab / sqrt(saa * sbb);
  }
  free(k), free(ra), free(rb);
  return rho;
}

void adx_position_of(const int32_t *order, int H, int W, int top_pct, int band, adx_position *out) {
  int64_t hw = (int64_t)H * W;
  out->row = out->col = out->border = NAN;
  out->n = 0;
  if (hw <= 0) return;
  int64_t nk = ((int64_t)top_pct * hw + 99) / 100;
  if (nk > hw) nk = hw;
  if (nk < 1) nk = 1;
  double sr = 0, sc = 0;
  int64_t nb = 0;
  for (int64_t i = 0; i < nk; i++) {
    int r = order[i] / W, c = order[i] % W;
    sr += r;
    sc += c;
    nb += r < band || r >= H - band || c < band || c >= W - band;
  }
  out->row = sr / (double)nk;
  out->col = sc / (double)nk;
  out->border = (double)nb / (double)nk;
  out->n = nk;
}

int64_t adx_mask_centroid(const uint8_t *mask, int H, int W, double *row, double *col) {
  double sr = 0, sc = 0;
  int64_t n = 0;
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++)
      if (mask[(size_t)r * W + c]) sr += r, sc += c, n++;
  *row = n ? sr / (double)n : NAN;
  *col = n ? sc / (double)n : NAN;
  return n;
}
