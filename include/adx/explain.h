/* adx explainers: they ask the engine one question, in batches -- "here is the image and B visibility
 * masks; give me the class probabilities of each" -- and turn the answers into a per-pixel
 * responsibility map and an explanation (a pixel set). They never touch pixels themselves. */
#ifndef ADX_EXPLAIN_H
#define ADX_EXPLAIN_H

#include "adx/ad.h"
#include "adx/engine.h"

/* The question, bound to one image and one mode. */
typedef struct adx_oracle {
  adx_engine *engine;
  adx_mode mode;      /* plain, ad (with its rule/pool) or fill */
  adx_norm norm;      /* raw -> model input */
  const float *raw;   /* the image, raw pixels [C,H,W] at model input size */
  float *fill_source; /* [C,H,W], for fill modes (owned by the oracle) */
  int C, H, W, nclasses;
  int max_batch;     /* masks per engine call; larger requests are split */
  int64_t queries;   /* mutants asked so far (the cost measure, comparable across tools) */
  int64_t evaluated; /* of those, the ones the engine ran: the rest were answered from the cache */
  float *probs;      /* [max_batch, nclasses] results of the last call */
  float *full;       /* [nclasses] probabilities with every pixel visible (= plain, by A1), from init */
  struct adx_qcache *cache; /* answers by mask, for this image and mode (NULL: no cache) */
} adx_oracle;

#define ADX_ORACLE_DEFAULT_BATCH 64

/* Bind an oracle to an image; computes the fill source for fill modes (mode->seed already set for the
 * image) and runs one all-visible forward pass for nclasses and `full` (not counted in queries).
 * max_batch <= 0: ADX_ORACLE_DEFAULT_BATCH. */
adx_status adx_oracle_init(adx_oracle *o, adx_engine *e, const adx_mode *m, const adx_norm *norm,
                           const float *raw, int max_batch, adx_error *err);
void adx_oracle_free(adx_oracle *o);
/* Probabilities (softmax of the logits, computed in double) of B mutants: out[b*nclasses + k].
 * out must hold B*nclasses floats. B may exceed max_batch (split into engine calls). A mask asked before
 * for this image (or twice in one call) is answered from a per-oracle cache, keyed by a 128-bit hash of
 * the mask: the engine is batch-invariant, so the answer is the same bits a new evaluation would give.
 * queries counts every mask asked, evaluated only those the engine ran. */
adx_status adx_oracle_ask(adx_oracle *o, const uint8_t *masks, int B, float *out, adx_error *err);
/* Probabilities (softmax in double) of B whole raw images [B,C,H,W] at the oracle's size, under a PLAIN
 * forward pass of the oracle's engine with the oracle's normalisation, whatever the oracle's mode (used
 * for the robustness composites). out: B*nclasses floats. Adds B to o->queries. */
adx_status adx_oracle_ask_images(adx_oracle *o, const float *raw, int B, float *out, adx_error *err);

/* ---- explainers ---- */
typedef enum adx_explainer_kind { ADX_EXPLAINER_REX, ADX_EXPLAINER_SLIDING } adx_explainer_kind;

/* The mutants of a box split in four (the 4 singles, 6 pairs and 4 triples of its children): one rex step,
 * so also the smallest positive search_limit. */
#define ADX_REX_MUTANTS 14

typedef struct adx_rex_params {
  int iters;               /* random partition trees per image (ReX default 20) */
  int tree_depth;          /* maximum depth of a tree (10) */
  int min_box;             /* minimum box side in pixels at the model input size; 0 = 10 px scaled from 224 */
  int search_limit;        /* maximum mutant queries per iteration; 0 = unlimited */
  float confidence_filter; /* descent also needs p(target) >= this * p_full, as in ReX (0 = off) */
  uint64_t seed;
} adx_rex_params;

typedef struct adx_sliding_params {
  int window; /* occluding square side, pixels; 0 = H/7 */
  int stride; /* 0 = window/2 */
} adx_sliding_params;

typedef struct adx_explainer {
  adx_explainer_kind kind;
  adx_rex_params rex;
  adx_sliding_params sliding;
  float confidence; /* extraction threshold: target top-1 with p >= confidence * p_full */
  int chunks; /* extraction chunk count over the ranking (explanation sizes step by 1/chunks of image) */
  int refine; /* 1: refine the first sufficient chunk pixel by pixel (adx_extract_refined); default 1 */
} adx_explainer;

void adx_explainer_default(adx_explainer *x);
/* Validate parameters against the model input size (H,W); errors name the parameter. */
adx_status adx_explainer_check(const adx_explainer *x, int H, int W, adx_error *err);

/* "rex" or "sliding" into x->kind (the other fields are left alone). */
adx_status adx_explainer_parse(const char *name, adx_explainer *x, adx_error *err);
/* Set one parameter from a config-file key or long flag: iters, tree_depth, min_box_size, search_limit,
 * confidence_filter, window, stride, confidence, chunks, refine (0 or 1). Unknown keys and malformed values
 * -> ADX_ERR_ARG naming the key; a failed set leaves x unchanged. Ranges are checked by adx_explainer_check
 * (they depend on the image size). */
adx_status adx_explainer_set(adx_explainer *x, const char *key, const char *value, adx_error *err);
/* "rex" or "sliding". */
const char *adx_explainer_name(adx_explainer_kind k);

/* Responsibility map [H,W] for the target class (dispatches on x->kind; checks x first). The same
 * (x, image, mode, target, seed) gives the same map bit for bit, whatever o->max_batch or the thread count
 * (given a batch-invariant engine). Details in docs/explainers.md. */
adx_status adx_explain_responsibility(const adx_explainer *x, adx_oracle *o, int target, uint64_t seed,
                                      float *resp, adx_error *err);
/* The two explainers (parameters already checked; 0 stands for the default, resolved inside). */
adx_status adx_rex_responsibility(const adx_rex_params *p, adx_oracle *o, int target, uint64_t seed,
                                  float *resp, adx_error *err);
adx_status adx_sliding_responsibility(const adx_sliding_params *p, adx_oracle *o, int target, float *resp,
                                      adx_error *err);
/* The defaults that 0 stands for, at an HxW input: min_box = max(2, round(10*min(H,W)/224));
 * window = max(2, min(H,W)/7); stride = max(1, window/2). */
int adx_rex_min_box(int H, int W);
int adx_sliding_window(int H, int W);

/* Pixels ordered by responsibility, highest first; ties broken by distance to the map's maximum, then
 * by index (deterministic). order has H*W entries. */
void adx_rank_pixels(const float *resp, int H, int W, int32_t *order);

/* Smallest prefix of the ranking (in chunks of H*W/chunks pixels) for which the target is top-1 with
 * probability >= confidence * p_full, in the oracle's mode. All chunk candidates go to the engine as
 * one batch. expl [H,W] gets 1 for explanation pixels; *size_px its pixel count; *p_expl the target
 * probability with only the explanation visible. If no prefix passes, the whole image is the
 * explanation. */
adx_status adx_extract(adx_oracle *o, int target, const int32_t *order, float p_full, float confidence,
                       int chunks, uint8_t *expl, int *size_px, float *p_expl, adx_error *err);

/* adx_extract, then a second batch of at most ceil(H*W/chunks) - 1 candidates: every prefix size between
 * the last failing chunk and the first passing one. The explanation is then the smallest sufficient prefix
 * to the pixel (exactly so when sufficiency is monotone along the ranking), for about chunks + H*W/chunks
 * queries instead of H*W. */
adx_status adx_extract_refined(adx_oracle *o, int target, const int32_t *order, float p_full,
                               float confidence, int chunks, uint8_t *expl, int *size_px, float *p_expl,
                               adx_error *err);
/* Extraction with the explainer's settings: x->confidence, x->chunks and x->refine. */
adx_status adx_explainer_extract(const adx_explainer *x, adx_oracle *o, int target, const int32_t *order,
                                 float p_full, uint8_t *expl, int *size_px, float *p_expl, adx_error *err);

#endif
