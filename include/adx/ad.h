/* adx AD: hiding part of an image, by Activation-Deactivation (a visibility mask travels through the
 * network and deactivates positions) or by fill values (hidden pixels replaced before normalisation).
 * The semantics are in docs/ad.md. */
#ifndef ADX_AD_H
#define ADX_AD_H

#include "adx/ir.h"

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

/* What an active position does with the hidden part of its window (docs/ad.md, "Reading"). */
typedef enum adx_ad_renorm {
  ADX_RENORM_NONE = 0, /* hidden inputs are absent: zero contribution (Conv), excluded (pools) */
  ADX_RENORM_PARTIAL,  /* absent, and an active Conv sum is rescaled by total / visible weight (Liu 2018) */
  ADX_RENORM_LEAK      /* adx 0.1: hidden pixels are read as they are (no isolation); kept to compare */
} adx_ad_renorm;

/* Where deactivated positions are zeroed. */
typedef enum adx_ad_at {
  ADX_AT_EVERY = 0,  /* after every spatial layer */
  ADX_AT_CHECKPOINTS /* only where the resolution changes and before the spatial part ends */
} adx_ad_at;

/* One AD variant: rule x pooling x renormalisation x placement. */
typedef struct adx_ad_opts {
  adx_ad_rule_kind rule;
  float ratio; /* for ADX_RULE_RATIO, in [0, 1) */
  adx_ad_pool pool;
  adx_ad_renorm renorm;
  adx_ad_at at;
} adx_ad_opts;

#define ADX_AD_DEFAULT_RATIO 0.5f
/* The built-in default variant (what a bare "ad" means when no flag changes it). */
void adx_ad_opts_default(adx_ad_opts *o);
/* "strict", "loose", "ratio:T" (0 <= T < 1), "ratio" (default T). */
adx_status adx_ad_parse_rule(const char *s, adx_ad_opts *o, adx_error *err);
/* "active" or "all". */
adx_status adx_ad_parse_pool(const char *s, adx_ad_opts *o, adx_error *err);
/* "none", "partial" or "leak". */
adx_status adx_ad_parse_renorm(const char *s, adx_ad_opts *o, adx_error *err);
/* "every" or "checkpoints". */
adx_status adx_ad_parse_at(const char *s, adx_ad_opts *o, adx_error *err);
/* What a bare "ad" means, from the --ad-rule/--ad-pool/--ad-renorm/--ad-at values (NULL: default).
 * Errors name the flag. */
adx_status adx_ad_opts_from_flags(const char *rule, const char *pool, const char *renorm, const char *at,
                                  adx_ad_opts *o, adx_error *err);
/* "strict", "loose" or "ratio:0.5" into buf. */
const char *adx_ad_rule_str(const adx_ad_opts *o, char *buf, size_t len);
/* The full variant, "ad:RULE:POOL:RENORM:AT" (e.g. "ad:ratio:0.5:all:none:every"), into buf. */
const char *adx_ad_variant_str(const adx_ad_opts *o, char *buf, size_t len);
#define ADX_AD_VARIANT_MAX 64
/* The valid spellings of a mode, for messages. */
#define ADX_MODE_FORMS                                                                                       \
  "plain, ad, ad:RULE[:POOL[:RENORM[:AT]]] (RULE strict|ratio:T|loose, POOL all|active, RENORM "             \
  "none|partial|leak, AT every|checkpoints; e.g. ad:ratio:0.5:all:partial:every), fill:zero, fill:min, "     \
  "fill:max, fill:mean, fill:blur, fill:noise, fill:<number>"

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

/* "plain", "ad", "ad:RULE[:POOL[:RENORM[:AT]]]", "fill:zero|min|max|mean|blur|noise|<number>".
 * A bare "ad" takes *bare (NULL: the built-in default); a spelled-out variant takes the built-in
 * default for every part it leaves out, whatever the flags say: a mode string means the same in every
 * command. */
adx_status adx_mode_parse_with(const char *s, const adx_ad_opts *bare, adx_mode *m, adx_error *err);
adx_status adx_mode_parse(const char *s, adx_mode *m, adx_error *err);
/* Canonical name: "plain", the full AD variant ("ad:ratio:0.5:all:none:every"), "fill:zero", "fill:0.5". */
const char *adx_mode_str(const adx_mode *m, char *buf, size_t len);
/* Is this mode name an AD mode ("ad" or "ad:...")? */
int adx_mode_name_is_ad(const char *name);
/* The variant an AD mode name meant in a results file written before isolating AD (format 1): a bare
 * "ad" was ratio:0.5:all, and every variant read hidden pixels as they are (leak). */
adx_status adx_mode_parse_legacy(const char *s, adx_mode *m, adx_error *err);

/* Normalisation of raw pixels, x = (raw * scale - mean[c]) / std[c]: the one description of it, held by the
 * preprocessing settings (adx_preproc.norm, adx/io.h) and taken by the engine's queries, the oracle and the
 * AD and fill modes. A count of 0 means the default (mean 0, std 1), 1 the same value for every channel,
 * more one value per channel (adx_preproc_geometry checks that count against the model's channels). */
typedef struct adx_norm {
  float scale;
  int nmean, nstd;
  float mean[4], std[4];
} adx_norm;
/* scale 1, mean 0, std 1: raw values are fed as they are. */
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
 * Each segment's mask is read at m + offset (the sample's plane of a [B,H,W] mask). scale (or NULL)
 * receives total / (total - hidden) at active positions with something hidden, 1 elsewhere. */
void adx_mask_window(const adx_mseg *segs, int nseg, size_t offset, int C, int H, int W, const adx_window *w,
                     int OH, int OW, const adx_ad_opts *o, uint8_t *out, float *scale);

/* ---- the AD runner (src/ad/run.c) ---- */
/* What the runner needs of the engine that runs it: the graph, the value tensors at the current batch
 * (the graph input bound), threads, scratch, and a way to run one node plainly. */
typedef struct adx_ad_host {
  adx_graph *g;
  adx_tensor *vt;
  int threads;
  void *scratch;
  size_t scratch_bytes;
  void *eng;
  adx_status (*run_node)(void *eng, int node, adx_error *err);
  int lib; /* convolutions through oneDNN (see adx_op_ctx.lib) */
  /* per value: 0 NCHW, else stored in nChw<B>c (see adx_op_ctx.blocked); NULL: every value NCHW. run_node
   * runs with the same plan. */
  const uint8_t *blocked;
  /* Incremental AD (NULL: off). incr_node is called before every node and lets the engine follow which
   * positions may differ from the unmasked image's own activations (the base). incr_conv then says, for
   * sample b of Conv output vout: -1 not followed, 0 nothing differs, 1 the positions where *unchanged is 0
   * may differ (and *base is the unmasked image's output, in vout's layout), 2 too much differs to follow. */
  adx_status (*incr_node)(void *eng, int node, adx_error *err);
  int (*incr_conv)(void *eng, int vout, int b, const uint8_t **unchanged, const float **base);
} adx_ad_host;

/* The runner's own buffers (masks, active lists, the isolated input), reused across runs. */
typedef struct adx_ad_state adx_ad_state;
adx_ad_state *adx_ad_state_new(void);
void adx_ad_state_free(adx_ad_state *st);
/* One AD forward pass over h->g: masks [B,H,W] at input resolution, nonzero = visible. Under the
 * isolating variants the graph input's tensor is rebound to a copy with hidden pixels at 0. */
adx_status adx_ad_run(adx_ad_state *st, const adx_ad_host *h, const uint8_t *masks, const adx_ad_opts *o,
                      adx_error *err);
/* The first node of the last run that computed plainly on a masked spatial value, or -1. */
int adx_ad_state_fallback(const adx_ad_state *st);
/* The last run's mask [B,H,W] of channel c of value v (NULL: unmasked, i.e. fully active). */
const uint8_t *adx_ad_state_mask(const adx_ad_state *st, int v, int c);

#endif
