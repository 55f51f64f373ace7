/* rex: causal responsibility in the style of ReX (Chockler, Kelly et al.; github.com/ReX-XAI/ReX), rebuilt
 * around batched queries. docs/explainers.md is the definition; in short, per iteration:
 *   - the search set S starts as {whole image}; a step splits every splittable box b of S into 4 children
 *     at a random point (2 along its long axis when it is too thin to split across) and asks the mutants
 *     of b: each non-empty proper subset of its children visible, the other boxes of S visible, everything
 *     else hidden (14 for 4 children, 2 for 2);
 *   - a mutant whose top-1 class is the target gives 1/k to each of its k visible children, over the
 *     child's pixels (not the static boxes, not normalised by area), as ReX does;
 *   - the search descends into the smallest passing mutant: S := its visible children.
 * The `iters` iterations run in lockstep: one oracle request holds the current step of every live iteration
 * (up to a memory cap, beyond which a round is asked in parts). Each iteration has its own random stream
 * (seed, iteration index), and responsibility is accumulated exactly in integer units of 1/6, so the map
 * depends neither on max_batch, on the thread count, nor on the order in which credits arrive. */
#include <stdlib.h>
#include <string.h>

#include "adx/explain.h"

#define MAXSET 3 /* a passing mutant has at most 3 visible children */
#define UNITS 6  /* 1, 1/2, 1/3 are whole multiples of 1/6 */

/* The 14 mutants of a split box: visible children as a bit set (bit c = child c), in ReX's order:
 * the 4 singles, the 6 pairs, the 4 triples. */
static const uint8_t comb4[ADX_REX_MUTANTS] = {0x1, 0x2, 0x4, 0x8, 0x3, 0x5, 0x9,
                                               0x6, 0xA, 0xC, 0x7, 0xB, 0xD, 0xE};
/* A box too thin to split across is split along its long axis only: 2 children, 2 mutants. */
static const uint8_t comb2[2] = {0x1, 0x2};

typedef struct box {
  int y0, y1, x0, x1; /* half-open rows [y0, y1), columns [x0, x1) */
  int depth;          /* the whole image is depth 0 */
} box;

typedef struct iter_state {
  adx_rng rng;
  box set[MAXSET]; /* the search set S */
  int nset;
  int alive;
  int64_t used; /* mutants asked by this iteration */
  /* the current step */
  int ngroups;
  int gbox[MAXSET];     /* index in set of each split box */
  int gn[MAXSET];       /* its mutant count: 14 (4 children) or 2 (2 children) */
  int goff[MAXSET];     /* offset of its first mutant in the step */
  int nmut;             /* mutants in the step */
  box child[MAXSET][4]; /* its children: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right;
                           or 0 top/left, 1 bottom/right */
  int first;            /* offset of the step's first mutant in the batch */
} iter_state;

static int box_area(const box *b) { return (b->y1 - b->y0) * (b->x1 - b->x0); }

static void fill_box(uint8_t *m, int W, const box *b) {
  for (int y = b->y0; y < b->y1; y++) memset(m + (size_t)y * W + b->x0, 1, (size_t)(b->x1 - b->x0));
}

static void credit_box(int64_t *acc, int W, const box *b, int64_t units) {
  for (int y = b->y0; y < b->y1; y++) {
    int64_t *row = acc + (size_t)y * W;
    for (int x = b->x0; x < b->x1; x++) row[x] += units;
  }
}

static int top1(const float *p, int n) {
  int best = 0;
  for (int k = 1; k < n; k++)
    if (p[k] > p[best]) best = k;
  return best;
}

/* Draw this step's splits: every box of S that may be split gets a random point at least mb from each edge.
 * An axis shorter than 2*mb is not split; a box with one such axis splits in two along the other. */
static void plan_step(iter_state *it, int mb, int max_depth) {
  it->ngroups = 0;
  it->nmut = 0;
  for (int i = 0; i < it->nset; i++) {
    const box *b = &it->set[i];
    int h = b->y1 - b->y0, w = b->x1 - b->x0;
    int cy = h >= 2 * mb, cx = w >= 2 * mb;
    if (b->depth >= max_depth || !(cy || cx)) continue;
    int ys = cy ? b->y0 + mb + (int)adx_rng_below(&it->rng, (uint64_t)(h - 2 * mb + 1)) : b->y0;
    int xs = cx ? b->x0 + mb + (int)adx_rng_below(&it->rng, (uint64_t)(w - 2 * mb + 1)) : b->x0;
    int g = it->ngroups++;
    it->gbox[g] = i;
    it->goff[g] = it->nmut;
    box *c = it->child[g];
    int d = b->depth + 1;
    if (cy && cx) {
      c[0] = (box){b->y0, ys, b->x0, xs, d};
      c[1] = (box){b->y0, ys, xs, b->x1, d};
      c[2] = (box){ys, b->y1, b->x0, xs, d};
      c[3] = (box){ys, b->y1, xs, b->x1, d};
      it->gn[g] = ADX_REX_MUTANTS;
    } else if (cy) {
      c[0] = (box){b->y0, ys, b->x0, b->x1, d};
      c[1] = (box){ys, b->y1, b->x0, b->x1, d};
      it->gn[g] = 2;
    } else {
      c[0] = (box){b->y0, b->y1, b->x0, xs, d};
      c[1] = (box){b->y0, b->y1, xs, b->x1, d};
      it->gn[g] = 2;
    }
    it->nmut += it->gn[g];
  }
}

static const uint8_t *combs(const iter_state *it, int g) {
  return it->gn[g] == ADX_REX_MUTANTS ? comb4 : comb2;
}

/* Mask of mutant j of group g: the other boxes of S and the chosen children visible. */
static void build_mask(const iter_state *it, int g, int j, int W, size_t hw, uint8_t *m) {
  memset(m, 0, hw);
  for (int i = 0; i < it->nset; i++)
    if (i != it->gbox[g]) fill_box(m, W, &it->set[i]);
  for (int c = 0; c < 4; c++)
    if (combs(it, g)[j] >> c & 1) fill_box(m, W, &it->child[g][c]);
}

static int popcount4(unsigned v) { return (v & 1) + (v >> 1 & 1) + (v >> 2 & 1) + (v >> 3 & 1); }

/* Credit responsibility and choose the descent from the step's answers (probs of this iteration). */
static void finish_step(iter_state *it, const float *probs, int nc, int target, float min_p, int64_t *acc,
                        int W) {
  int best_area = 0, bg = -1, bj = 0;
  float best_p = 0;
  for (int g = 0; g < it->ngroups; g++) {
    int static_area = 0;
    for (int i = 0; i < it->nset; i++)
      if (i != it->gbox[g]) static_area += box_area(&it->set[i]);
    /* As in ReX, a group's mutants are credited only when one of them passes (the filter included). */
    const uint8_t *cb = combs(it, g);
    const float *pg = probs + (size_t)it->goff[g] * nc;
    int any_pass = 0;
    for (int j = 0; j < it->gn[g]; j++) {
      const float *p = pg + (size_t)j * nc;
      any_pass |= top1(p, nc) == target && p[target] >= min_p;
    }
    if (!any_pass) continue;
    for (int j = 0; j < it->gn[g]; j++) {
      const float *p = pg + (size_t)j * nc;
      if (top1(p, nc) != target) continue;
      int k = popcount4(cb[j]), area = static_area;
      for (int c = 0; c < 4; c++)
        if (cb[j] >> c & 1) {
          credit_box(acc, W, &it->child[g][c], UNITS / k);
          area += box_area(&it->child[g][c]);
        }
      if (p[target] < min_p) continue;
      /* smallest visible area; then the highest target probability; then the first in order */
      if (bg < 0 || area < best_area || (area == best_area && p[target] > best_p)) {
        bg = g;
        bj = j;
        best_area = area;
        best_p = p[target];
      }
    }
  }
  if (bg < 0) {
    it->alive = 0;
    return;
  }
  int n = 0;
  box next[MAXSET];
  for (int c = 0; c < 4; c++)
    if (combs(it, bg)[bj] >> c & 1) next[n++] = it->child[bg][c];
  memcpy(it->set, next, sizeof next);
  it->nset = n;
}

/* Mask memory per request: a round of the lockstep is asked in parts beyond this (results are unchanged,
 * since an iteration's step depends only on its own answers). */
#define REX_MASK_BYTES ((size_t)64 << 20)

/* Ask the pending iterations' mutants and let each of them credit and descend. */
static adx_status flush(adx_oracle *o, iter_state *its, const int *pend, int npend, const uint8_t *masks,
                        int total, float *probs, int target, float min_p, int64_t *acc, adx_error *err) {
  if (total == 0) return ADX_OK;
  adx_status s = adx_oracle_ask(o, masks, total, probs, err);
  if (s) return s;
  for (int k = 0; k < npend; k++) {
    iter_state *it = &its[pend[k]];
    finish_step(it, probs + (size_t)it->first * o->nclasses, o->nclasses, target, min_p, acc, o->W);
  }
  return ADX_OK;
}

adx_status adx_rex_responsibility(const adx_rex_params *p, adx_oracle *o, int target, uint64_t seed,
                                  float *resp, adx_error *err) {
  const int H = o->H, W = o->W, nc = o->nclasses, iters = p->iters;
  const size_t hw = (size_t)H * (size_t)W;
  const int mb = p->min_box > 0 ? p->min_box : adx_rex_min_box(H, W);
  if (iters < 1 || p->tree_depth < 1 || 2 * mb > (H < W ? H : W) || target < 0 || target >= nc)
    return adx_fail(err, ADX_ERR_ARG, "rex: parameters out of range (check them with adx_explainer_check)");
  const float min_p = p->confidence_filter > 0 ? p->confidence_filter * o->full[target] : -1.0f;
  const size_t step_max = MAXSET * ADX_REX_MUTANTS; /* mutants of one iteration's step */
  size_t cap = REX_MASK_BYTES / hw;
  if (cap > step_max * (size_t)iters) cap = step_max * (size_t)iters;
  if (cap < step_max) cap = step_max;

  adx_status s = ADX_OK;
  iter_state *its = calloc((size_t)iters, sizeof *its);
  int *pend = malloc(sizeof(int) * (size_t)iters);
  int64_t *acc = calloc(hw, sizeof *acc);
  uint8_t *masks = NULL;
  float *probs = NULL;
  size_t mbytes, pbytes;
  if (adx_mul_size(hw, cap, &mbytes) || adx_mul_size((size_t)nc * sizeof(float), cap, &pbytes))
    s = adx_fail(err, ADX_ERR_LIMIT, "rex: a %dx%d image needs too much memory", H, W);
  if (!s) {
    masks = adx_alloc(mbytes);
    probs = adx_alloc(pbytes);
  }
  if (!s && (!its || !pend || !acc || !masks || !probs))
    s = adx_fail(err, ADX_ERR_NOMEM, "rex: out of memory");

  uint64_t base = adx_seed_mix(p->seed, seed);
  for (int i = 0; !s && i < iters; i++) {
    adx_rng_seed(&its[i].rng, adx_seed_mix(base, (uint64_t)i));
    its[i].set[0] = (box){0, H, 0, W, 0};
    its[i].nset = 1;
    its[i].alive = 1;
  }
  for (int live = 1; live && !s;) { /* one round: the next step of every live iteration */
    live = 0;
    int total = 0, npend = 0;
    for (int i = 0; i < iters && !s; i++) {
      iter_state *it = &its[i];
      if (!it->alive) continue;
      plan_step(it, mb, p->tree_depth);
      int n = it->nmut;
      if (n == 0 || (p->search_limit > 0 && it->used + n > p->search_limit)) {
        it->alive = 0;
        continue;
      }
      if ((size_t)(total + n) > cap) {
        if ((s = flush(o, its, pend, npend, masks, total, probs, target, min_p, acc, err))) break;
        total = npend = 0;
      }
      it->first = total;
      for (int g = 0; g < it->ngroups; g++)
        for (int j = 0; j < it->gn[g]; j++)
          build_mask(it, g, j, W, hw, masks + (size_t)(total + it->goff[g] + j) * hw);
      it->used += n;
      total += n;
      pend[npend++] = i;
      live = 1;
    }
    if (!s) s = flush(o, its, pend, npend, masks, total, probs, target, min_p, acc, err);
  }
  if (!s)
    for (size_t k = 0; k < hw; k++) resp[k] = (float)((double)acc[k] / UNITS);
  free(its);
  free(pend);
  free(acc);
  adx_free(masks);
  adx_free(probs);
  return s;
}
