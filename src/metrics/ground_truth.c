/* Ground-truth metrics (docs/metrics.md, "Ground truth"): how much of an explanation lies on the object,
 * given a mask of the object's pixels. Pure functions of (map or ranking, mask); no model is asked. */
#include <math.h>
#include <stdlib.h>

#include "adx/metrics.h"

void adx_gt_clear(adx_gt *g) {
  g->pointing_game = NAN;
  g->energy_in_object = NAN;
  for (int j = 0; j < ADX_ROB_K; j++) g->precision_at_k[j] = NAN;
}

static int64_t object_pixels(const uint8_t *mask, int64_t hw) {
  int64_t n = 0;
  for (int64_t p = 0; p < hw; p++) n += mask[p] != 0;
  return n;
}

float adx_gt_pointing_game(const int32_t *order, const uint8_t *mask, int64_t hw) {
  if (hw <= 0 || object_pixels(mask, hw) == 0) return NAN;
  return mask[order[0]] ? 1.0f : 0.0f;
}

float adx_gt_energy_in_object(const float *map, const uint8_t *mask, int64_t hw) {
  if (hw <= 0 || object_pixels(mask, hw) == 0) return NAN;
  double in = 0, all = 0;
  for (int64_t p = 0; p < hw; p++) {
    double v = map[p] > 0 ? (double)map[p] : 0.0; /* NaN and negative values count 0 */
    all += v;
    if (mask[p]) in += v;
  }
  return all > 0 ? (float)(in / all) : NAN;
}

void adx_gt_precision_at_k(const int32_t *order, const uint8_t *mask, int64_t hw, float out[ADX_ROB_K]) {
  int empty = hw <= 0 || object_pixels(mask, hw) == 0;
  for (int j = 0; j < ADX_ROB_K; j++) {
    if (empty) {
      out[j] = NAN;
      continue;
    }
    int64_t n = (lroundf(adx_rob_k[j] * 100.0f) * hw + 99) / 100, in = 0;
    if (n > hw) n = hw;
    if (n < 1) n = 1;
    for (int64_t i = 0; i < n; i++) in += mask[order[i]] != 0;
    out[j] = (float)((double)in / (double)n);
  }
}

void adx_gt_compute(const float *map, const int32_t *order, const uint8_t *mask, int64_t hw, adx_gt *out) {
  out->pointing_game = adx_gt_pointing_game(order, mask, hw);
  out->energy_in_object = adx_gt_energy_in_object(map, mask, hw);
  adx_gt_precision_at_k(order, mask, hw, out->precision_at_k);
}

typedef struct centre_key {
  int64_t d4; /* 4 x the squared distance to the centre: an exact integer */
  int32_t idx;
} centre_key;

static int cmp_centre(const void *pa, const void *pb) {
  const centre_key *a = pa, *b = pb;
  if (a->d4 != b->d4) return a->d4 < b->d4 ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

static int64_t centre_d4(int y, int x, int H, int W) {
  int64_t dy = 2 * (int64_t)y - (H - 1), dx = 2 * (int64_t)x - (W - 1);
  return dy * dy + dx * dx;
}

void adx_gt_centre_ranking(int H, int W, float *map, int32_t *order) {
  int64_t hw = (int64_t)H * W, dmax4 = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int64_t d4 = centre_d4(y, x, H, W);
      if (d4 > dmax4) dmax4 = d4;
    }
  double dmax = sqrt((double)dmax4) / 2;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      map[(int64_t)y * W + x] = (float)(dmax - sqrt((double)centre_d4(y, x, H, W)) / 2);
  centre_key *k = malloc((size_t)hw * sizeof *k);
  if (!k) { /* the void API cannot fail: without memory for the keys, a selection sort (slow, same order) */
    for (int64_t i = 0; i < hw; i++) order[i] = (int32_t)i;
    for (int64_t i = 0; i < hw; i++) {
      int64_t best = i, bd = centre_d4(order[i] / W, order[i] % W, H, W);
      for (int64_t j = i + 1; j < hw; j++) {
        int64_t d = centre_d4(order[j] / W, order[j] % W, H, W);
        if (d < bd || (d == bd && order[j] < order[best])) best = j, bd = d;
      }
      int32_t t = order[i];
      order[i] = order[best];
      order[best] = t;
    }
    return;
  }
  for (int64_t i = 0; i < hw; i++) {
    k[i].d4 = centre_d4((int)(i / W), (int)(i % W), H, W);
    k[i].idx = (int32_t)i;
  }
  qsort(k, (size_t)hw, sizeof *k, cmp_centre);
  for (int64_t i = 0; i < hw; i++) order[i] = k[i].idx;
  free(k);
}

void adx_gt_centre(const uint8_t *mask, int H, int W, float *map, int32_t *order, adx_gt *out) {
  adx_gt_centre_ranking(H, W, map, order);
  adx_gt_compute(map, order, mask, (int64_t)H * W, out);
}
