/* adx AD: hiding part of an image, by Activation-Deactivation (a visibility mask travels through the
 * network and deactivates positions) or by fill values (hidden pixels replaced before normalisation).
 * The semantics are in docs/ad.md. */
#ifndef ADX_AD_H
#define ADX_AD_H

#include "adx/graph.h"

/* When a window position counts as deactivated. */
typedef enum adx_ad_rule_kind {
  ADX_RULE_STRICT, /* anything in the receptive-field window hidden */
  ADX_RULE_RATIO,  /* hidden fraction of the window > ratio (the default, ratio 0.5) */
  ADX_RULE_LOOSE   /* the whole window hidden */
} adx_ad_rule_kind;

typedef enum adx_ad_pool {
  ADX_POOL_ALL = 0, /* global pooling averages over all positions, deactivated ones as zero */
  ADX_POOL_ACTIVE   /* global pooling averages over active positions only */
} adx_ad_pool;

typedef struct adx_ad_opts {
  adx_ad_rule_kind rule;
  float ratio; /* for ADX_RULE_RATIO, in [0, 1) */
  adx_ad_pool pool;
} adx_ad_opts;

#define ADX_AD_DEFAULT_RATIO 0.5f
void adx_ad_opts_default(adx_ad_opts *o);
/* "strict", "loose", "ratio:T" (0 <= T < 1), "ratio" (default T). */
adx_status adx_ad_parse_rule(const char *s, adx_ad_opts *o, adx_error *err);
/* "active" or "all". */
adx_status adx_ad_parse_pool(const char *s, adx_ad_opts *o, adx_error *err);
/* "strict", "loose" or "ratio:0.5" into buf. */
const char *adx_ad_rule_str(const adx_ad_opts *o, char *buf, size_t len);

/* Does a window with `hidden` of `total` (weighted) elements hidden deactivate its position? */
static inline int adx_ad_deactivates(const adx_ad_opts *o, double hidden, double total) {
  if (hidden <= 0) return 0;
  switch (o->rule) {
  case ADX_RULE_STRICT: return 1;
  case ADX_RULE_LOOSE: return hidden >= total;
  default: return hidden > (double)o->ratio * total;
  }
}

/* ---- modes ---- */
typedef enum adx_mode_kind { ADX_MODE_PLAIN, ADX_MODE_AD, ADX_MODE_FILL } adx_mode_kind;
typedef enum adx_fill_kind {
  ADX_FILL_ZERO,  /* black: raw 0 */
  ADX_FILL_MIN,   /* the image's own per-channel minimum */
  ADX_FILL_MAX,   /* per-channel maximum */
  ADX_FILL_MEAN,  /* per-channel mean */
  ADX_FILL_BLUR,  /* a Gaussian-blurred copy of the image (sigma ADX_FILL_BLUR_SIGMA * min(H,W)) */
  ADX_FILL_NOISE, /* seeded uniform noise over the image's per-channel [min, max] */
  ADX_FILL_VALUE  /* a number, in raw pixel units */
} adx_fill_kind;
#define ADX_FILL_BLUR_SIGMA 0.1f

typedef struct adx_mode {
  adx_mode_kind kind;
  adx_fill_kind fill;
  float value;   /* ADX_FILL_VALUE */
  uint64_t seed; /* ADX_FILL_NOISE */
  adx_ad_opts ad;
} adx_mode;

/* "plain", "ad", "ad:RULE[:POOL]" (e.g. "ad:strict", "ad:ratio:0.25:active"),
 * "fill:zero|min|max|mean|blur|noise|<number>". Plain "ad" keeps the default AD options. */
adx_status adx_mode_parse(const char *s, adx_mode *m, adx_error *err);
/* Canonical name ("ad" for the default AD options, else "ad:RULE:POOL"; "fill:zero"; "fill:0.5"). */
const char *adx_mode_str(const adx_mode *m, char *buf, size_t len);

/* Normalisation from raw pixels: x = (raw * scale - mean[c]) / std[c]. */
typedef struct adx_norm {
  float scale;
  int nch;
  float mean[4], std[4];
} adx_norm;
void adx_norm_identity(adx_norm *n);
void adx_norm_apply(const adx_norm *n, const float *raw, int c, int h, int w, float *out);

/* Per-image fill source: the replacement raw value for every pixel of the image, [C,H,W].
 * (Constant fills are constant planes; blur is the blurred image; noise is seeded noise.) */
adx_status adx_fill_source(const adx_mode *m, const float *raw, int c, int h, int w, float *out,
                           adx_error *err);
/* out[b] = normalised (mask[b] ? raw : source) for b < B. masks: [B,H,W], nonzero = visible. */
void adx_fill_apply(const adx_norm *n, const float *raw, const float *source, const uint8_t *masks, int B,
                    int c, int h, int w, float *out);

/* ---- mask propagation (per sample) ---- */
/* A channel range [c0, c1) of a value and its visibility mask [H,W] (1 = active). */
typedef struct adx_mseg {
  int c0, c1;
  const uint8_t *m;
} adx_mseg;

/* Output mask [OH,OW] of a window operator reading C channels: the hidden weight of a window is the
 * sum over segments of (segment channels x hidden in-bounds positions), its total C x in-bounds
 * positions (channels without a segment are visible). Padding positions count neither way.
 * Each segment's mask is read at m + offset (the sample's plane of a [B,H,W] mask). */
void adx_mask_window(const adx_mseg *segs, int nseg, size_t offset, int C, int H, int W, const adx_window *w,
                     int OH, int OW, const adx_ad_opts *o, uint8_t *out);

#endif
