/* The oracle: the explainers' one question ("this image, these B masks: class probabilities?") bound to one
 * image and one mode. It splits large requests into engine calls of at most max_batch masks, turns logits
 * into probabilities (softmax in double) and counts the mutants it evaluates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/explain.h"

/* ---- the per-image answer cache ---- */

/* Entries are kept up to this many per oracle (an image's explanation asks a few thousand masks). */
#define QCACHE_MAX (1 << 16)

typedef struct qkey {
  uint64_t a, b;
} qkey;

struct adx_qcache {
  size_t cap, n; /* slots (a power of two), entries */
  qkey *keys;    /* cap slots; a == b == 0 marks an empty slot */
  int32_t *row;  /* cap slots: row of probs */
  float *probs;  /* [n, nclasses] */
  size_t nprobs; /* rows allocated */
};

/* Two independent 64-bit hashes of the mask, 8 bytes at a time (128 bits: accidental collisions are out
 * of reach for any run's number of masks). */
static qkey mask_key(const uint8_t *m, size_t n) {
  uint64_t a = 0x9e3779b97f4a7c15ull ^ n, b = 0xc2b2ae3d27d4eb4full + n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, m + i, 8);
    a = (a ^ w) * 0x100000001b3ull;
    a ^= a >> 29;
    b = (b + w) * 0xff51afd7ed558ccdull;
    b ^= b >> 33;
  }
  for (; i < n; i++) {
    a = (a ^ m[i]) * 0x100000001b3ull;
    b = (b + m[i] + 1) * 0xc4ceb9fe1a85ec53ull;
  }
  a ^= a >> 31;
  a *= 0xbf58476d1ce4e5b9ull;
  a ^= a >> 27;
  b ^= b >> 30;
  b *= 0x94d049bb133111ebull;
  b ^= b >> 31;
  if (!a && !b) a = 1; /* keep (0,0) for empty slots */
  return (qkey){a, b};
}

static void qcache_free(struct adx_qcache *c) {
  if (!c) return;
  free(c->keys);
  free(c->row);
  free(c->probs);
  free(c);
}

/* Slot of key k: where it is, or the empty slot where it would go. */
static size_t qcache_slot(const struct adx_qcache *c, qkey k) {
  size_t i = (size_t)k.a & (c->cap - 1);
  while (c->keys[i].a || c->keys[i].b) {
    if (c->keys[i].a == k.a && c->keys[i].b == k.b) return i;
    i = (i + 1) & (c->cap - 1);
  }
  return i;
}

static int qcache_init(struct adx_qcache **out) {
  struct adx_qcache *c = calloc(1, sizeof *c);
  if (!c) return -1;
  c->cap = 256;
  c->keys = calloc(c->cap, sizeof *c->keys);
  c->row = malloc(c->cap * sizeof *c->row);
  if (!c->keys || !c->row) {
    qcache_free(c);
    return -1;
  }
  *out = c;
  return 0;
}

/* Store probs (nc floats) under k; a full cache (or no memory) simply stores nothing. */
static void qcache_put(struct adx_qcache *c, qkey k, const float *probs, int nc) {
  if (c->n >= QCACHE_MAX) return;
  if (2 * (c->n + 1) > c->cap) { /* grow: load factor <= 1/2 */
    size_t cap = c->cap * 2;
    qkey *keys = calloc(cap, sizeof *keys);
    int32_t *row = malloc(cap * sizeof *row);
    if (!keys || !row) {
      free(keys);
      free(row);
      return;
    }
    struct adx_qcache t = {cap, 0, keys, row, NULL, 0};
    for (size_t i = 0; i < c->cap; i++)
      if (c->keys[i].a || c->keys[i].b) {
        size_t j = qcache_slot(&t, c->keys[i]);
        keys[j] = c->keys[i];
        row[j] = c->row[i];
      }
    free(c->keys);
    free(c->row);
    c->keys = keys;
    c->row = row;
    c->cap = cap;
  }
  if (c->n >= c->nprobs) {
    size_t np = c->nprobs ? c->nprobs * 2 : 64;
    float *p = realloc(c->probs, np * (size_t)nc * sizeof(float));
    if (!p) return;
    c->probs = p;
    c->nprobs = np;
  }
  size_t i = qcache_slot(c, k);
  if (c->keys[i].a || c->keys[i].b) return; /* already there */
  c->keys[i] = k;
  c->row[i] = (int32_t)c->n;
  memcpy(c->probs + c->n * (size_t)nc, probs, (size_t)nc * sizeof(float));
  c->n++;
}

static const float *qcache_get(const struct adx_qcache *c, qkey k, int nc) {
  size_t i = qcache_slot(c, k);
  if (!c->keys[i].a && !c->keys[i].b) return NULL;
  return c->probs + (size_t)c->row[i] * (size_t)nc;
}

/* One engine call of B <= max_batch masks; probabilities into o->probs. */
static adx_status ask_once(adx_oracle *o, const uint8_t *masks, int B, adx_error *err) {
  const adx_tensor *logits;
  adx_status s =
      adx_engine_query(o->engine, &o->mode, &o->norm, o->raw, o->fill_source, masks, B, &logits, err);
  if (s) return s;
  int64_t n = adx_tensor_numel(logits);
  if (n != (int64_t)B * o->nclasses) {
    return adx_fail(err, ADX_ERR_SHAPE,
                    "oracle: model output has %lld values for %d masks, expected %d classes each",
                    (long long)n, B, o->nclasses);
  }
  for (int b = 0; b < B; b++)
    if (adx_softmax(adx_f32(logits) + (size_t)b * o->nclasses, o->nclasses, NULL,
                    o->probs + (size_t)b * o->nclasses))
      return adx_fail(err, ADX_ERR_RUNTIME, "oracle: the model produced a non-finite logit (mask %d of %d)",
                      b, B);
  return ADX_OK;
}

adx_status adx_oracle_init(adx_oracle *o, adx_engine *e, const adx_mode *m, const adx_norm *norm,
                           const float *raw, int max_batch, adx_error *err) {
  memset(o, 0, sizeof *o);
  if (!e || !m || !norm || !raw)
    return adx_fail(err, ADX_ERR_ARG, "oracle: missing engine, mode, norm or image");
  const adx_value *iv = adx_engine_input(e);
  if (iv->ndim != 4 || iv->dims[1] < 1 || iv->dims[2] < 1 || iv->dims[3] < 1)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "oracle: the model input '%s' is not an image (N,C,H,W)",
                    iv->name);
  o->engine = e;
  o->mode = *m;
  o->norm = *norm;
  o->raw = raw;
  o->C = (int)iv->dims[1];
  o->H = (int)iv->dims[2];
  o->W = (int)iv->dims[3];
  o->max_batch = max_batch > 0 ? max_batch : ADX_ORACLE_DEFAULT_BATCH;
  size_t chw = (size_t)o->C * (size_t)o->H * (size_t)o->W, hw = (size_t)o->H * (size_t)o->W;
  adx_status s = ADX_OK;
  uint8_t *ones = adx_alloc(hw);
  if (!ones) return adx_fail(err, ADX_ERR_NOMEM, "oracle: out of memory");
  memset(ones, 1, hw);
  if (m->kind == ADX_MODE_FILL) {
    o->fill_source = adx_alloc(chw * sizeof(float));
    if (!o->fill_source) s = adx_fail(err, ADX_ERR_NOMEM, "oracle: out of memory for the fill source");
    if (!s) s = adx_fill_source(m, raw, o->C, o->H, o->W, o->fill_source, err);
  }
  /* The all-visible probe: gives the class count (to size probs) and the full-image probabilities. */
  const adx_tensor *logits = NULL;
  if (!s) s = adx_engine_query(e, &o->mode, &o->norm, raw, o->fill_source, ones, 1, &logits, err);
  if (!s) {
    int64_t n = adx_tensor_numel(logits);
    size_t bytes;
    if (n < 1 || n > (1 << 24))
      s = adx_fail(err, ADX_ERR_SHAPE, "oracle: model output has %lld values", (long long)n);
    else if (adx_mul_size((size_t)o->max_batch * sizeof(float), (size_t)n, &bytes))
      s = adx_fail(err, ADX_ERR_LIMIT, "oracle: max_batch %d too large", o->max_batch);
    if (!s) {
      o->nclasses = (int)n;
      o->probs = adx_alloc(bytes);
      o->full = adx_alloc((size_t)n * sizeof(float));
      if (!o->probs || !o->full) s = adx_fail(err, ADX_ERR_NOMEM, "oracle: out of memory for probabilities");
    }
    if (!s && adx_softmax(adx_f32(logits), o->nclasses, NULL, o->full))
      s = adx_fail(err, ADX_ERR_RUNTIME, "oracle: the model produced a non-finite logit on the full image");
    if (!s) memcpy(o->probs, o->full, (size_t)n * sizeof(float));
    /* the all-visible mask is asked again by most explainers and metrics: seed the cache with it */
    if (!s && !qcache_init(&o->cache)) qcache_put(o->cache, mask_key(ones, hw), o->full, o->nclasses);
  }
  adx_free(ones);
  if (s) adx_oracle_free(o);
  return s;
}

void adx_oracle_free(adx_oracle *o) {
  if (!o) return;
  qcache_free(o->cache);
  o->cache = NULL;
  adx_free(o->fill_source);
  adx_free(o->probs);
  adx_free(o->full);
  o->fill_source = NULL;
  o->probs = o->full = NULL;
}

/* Evaluate the masks listed in idx[0..n) (rows of `masks`) in engine calls of at most max_batch, via a
 * staging copy when they are not consecutive; results into out rows idx[i] and the cache. */
static adx_status ask_rows(adx_oracle *o, const uint8_t *masks, const int *idx, const qkey *keys, int n,
                           uint8_t *stage, float *out, adx_error *err) {
  size_t hw = (size_t)o->H * (size_t)o->W, nc = (size_t)o->nclasses;
  for (int i0 = 0; i0 < n; i0 += o->max_batch) {
    int nb = n - i0 < o->max_batch ? n - i0 : o->max_batch;
    for (int j = 0; j < nb; j++) memcpy(stage + (size_t)j * hw, masks + (size_t)idx[i0 + j] * hw, hw);
    adx_status s = ask_once(o, stage, nb, err);
    if (s) return s;
    for (int j = 0; j < nb; j++) {
      memcpy(out + (size_t)idx[i0 + j] * nc, o->probs + (size_t)j * nc, nc * sizeof(float));
      if (o->cache) qcache_put(o->cache, keys[i0 + j], o->probs + (size_t)j * nc, o->nclasses);
    }
    o->evaluated += nb;
  }
  return ADX_OK;
}

adx_status adx_oracle_ask(adx_oracle *o, const uint8_t *masks, int B, float *out, adx_error *err) {
  if (B < 0) return adx_fail(err, ADX_ERR_ARG, "oracle: negative batch %d", B);
  if (B == 0) return ADX_OK;
  if (!masks || !out) return adx_fail(err, ADX_ERR_ARG, "oracle: missing masks or output");
  if (!o->probs) return adx_fail(err, ADX_ERR_ARG, "oracle: not initialised");
  size_t hw = (size_t)o->H * (size_t)o->W, nc = (size_t)o->nclasses;
  if (!o->cache) qcache_init(&o->cache); /* no memory: no cache, every mask evaluated */
  int *idx = malloc(sizeof(int) * (size_t)B), *dup = malloc(sizeof(int) * (size_t)B);
  qkey *keys = malloc(sizeof(qkey) * (size_t)B), *mk = malloc(sizeof(qkey) * (size_t)B);
  int nb = B < o->max_batch ? B : o->max_batch;
  uint8_t *stage = adx_alloc(hw * (size_t)nb);
  if (!idx || !dup || !keys || !mk || !stage) {
    free(idx), free(dup), free(keys), free(mk), adx_free(stage);
    return adx_fail(err, ADX_ERR_NOMEM, "oracle: out of memory for %d masks", B);
  }
  /* misses: first occurrences not in the cache; dup[b] >= 0: same mask as row dup[b] (answered after) */
  int n = 0;
  for (int b = 0; b < B; b++) {
    mk[b] = mask_key(masks + (size_t)b * hw, hw);
    dup[b] = -1;
    const float *hit = o->cache ? qcache_get(o->cache, mk[b], o->nclasses) : NULL;
    if (hit) {
      memcpy(out + (size_t)b * nc, hit, nc * sizeof(float));
      continue;
    }
    for (int j = 0; j < n && dup[b] < 0; j++)
      if (keys[j].a == mk[b].a && keys[j].b == mk[b].b) dup[b] = idx[j];
    if (dup[b] >= 0) continue;
    idx[n] = b;
    keys[n++] = mk[b];
  }
  adx_status s = ask_rows(o, masks, idx, keys, n, stage, out, err);
  if (!s)
    for (int b = 0; b < B; b++)
      if (dup[b] >= 0) memcpy(out + (size_t)b * nc, out + (size_t)dup[b] * nc, nc * sizeof(float));
  if (!s) o->queries += B;
  free(idx), free(dup), free(keys), free(mk), adx_free(stage);
  return s;
}

adx_status adx_oracle_ask_images(adx_oracle *o, const float *raw, int B, float *out, adx_error *err) {
  if (B < 1) return adx_fail(err, ADX_ERR_ARG, "adx_oracle_ask_images: batch must hold at least one image");
  size_t chw = (size_t)o->C * (size_t)o->H * (size_t)o->W;
  int chunk = o->max_batch > 0 && o->max_batch < B ? o->max_batch : B;
  size_t bytes;
  if (adx_mul_size(chw * sizeof(float), (size_t)chunk, &bytes))
    return adx_fail(err, ADX_ERR_LIMIT, "adx_oracle_ask_images: batch of %d images is too large", B);
  float *buf = adx_alloc(bytes);
  if (!buf) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for %d robustness composites", chunk);
  adx_status st = ADX_OK;
  for (int b0 = 0; b0 < B; b0 += chunk) {
    int nb = B - b0 < chunk ? B - b0 : chunk;
    for (int j = 0; j < nb; j++)
      adx_norm_apply(&o->norm, raw + (size_t)(b0 + j) * chw, o->C, o->H, o->W, buf + (size_t)j * chw);
    adx_tensor in = {.dtype = ADX_F32, .ndim = 4, .dims = {nb, o->C, o->H, o->W}, .data = buf};
    const adx_tensor *logits;
    st = adx_engine_run(o->engine, &in, &logits, err);
    if (st) break;
    if (adx_tensor_numel(logits) != (int64_t)nb * o->nclasses) {
      st = adx_fail(err, ADX_ERR_SHAPE,
                    "adx_oracle_ask_images: model output has %lld values for %d images, "
                    "expected %d classes each",
                    (long long)adx_tensor_numel(logits), nb, o->nclasses);
      break;
    }
    for (int j = 0; j < nb && !st; j++)
      if (adx_softmax(adx_f32(logits) + (size_t)j * o->nclasses, o->nclasses, NULL,
                      out + (size_t)(b0 + j) * o->nclasses))
        st = adx_fail(err, ADX_ERR_RUNTIME,
                      "adx_oracle_ask_images: the model produced a non-finite logit (image %d)", b0 + j);
    if (st) break;
    o->queries += nb;
    o->evaluated += nb;
  }
  adx_free(buf);
  return st;
}
