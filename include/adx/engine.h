/* adx engine: runs a prepared graph on a batch, plainly or with hidden regions (AD / fill).
 * Buffers are planned once per batch size and reused across calls. Call from one thread;
 * the engine uses OpenMP inside. */
#ifndef ADX_ENGINE_H
#define ADX_ENGINE_H

#include "adx/ir.h"

typedef struct adx_engine adx_engine;

/* The engine's micro-batch: n > 0 that many samples per pass, 0 its own choice (the default, from the
 * model's activation bytes per sample and the thread count). */
void adx_engine_set_chunk(adx_engine *e, int n);
/* The micro-batch in effect (the choice made when set to 0). */
int adx_engine_chunk(adx_engine *e);
/* How many output-crop shapes the engine's convolutions have a primitive for so far (AD runs with
 * ADX_AD_BAND=1 make them on first use; 0 on the BLAS path). For tests and diagnostics. */
int adx_engine_crop_shapes(const adx_engine *e);

/* threads <= 0: adx_threads_get(). The engine borrows g; g must outlive it. */
adx_status adx_engine_create(adx_graph *g, int threads, adx_engine **out, adx_error *err);
void adx_engine_free(adx_engine *e);

/* Run a plain forward pass. input: [B, ...] matching the model's first input except dim 0.
 * *output points at the first graph output ([B, classes]); valid until the next call. */
adx_status adx_engine_run(adx_engine *e, const adx_tensor *input, const adx_tensor **output, adx_error *err);

/* Run with all graph inputs given (for multi-input graphs / conformance tests); outputs borrowed. */
adx_status adx_engine_run_all(adx_engine *e, const adx_tensor *const *inputs, int ninputs,
                              const adx_tensor *const **outputs, adx_error *err);

struct adx_ad_opts;
/* AD run: input [B,C,H,W] normalised images; masks [B,H,W] at input resolution, nonzero = visible.
 * With every pixel visible the output is bit-identical to adx_engine_run (property A1). */
adx_status adx_engine_run_ad(adx_engine *e, const adx_tensor *input, const uint8_t *masks,
                             const struct adx_ad_opts *o, const adx_tensor **output, adx_error *err);
/* Name of the first node where the last AD run fell back to plain computation on a masked spatial
 * value (e.g. Flatten of a spatial map into Gemm), or NULL if AD followed the whole network. */
const char *adx_engine_ad_fallback(const adx_engine *e);
/* The last AD run's mask [B,H,W] of channel `channel` of graph value `value` (NULL: fully active, or
 * not masked). For tests and pictures of how a mask travels. */
const uint8_t *adx_engine_ad_mask(const adx_engine *e, int value, int channel);

struct adx_mode;
struct adx_norm;
/* The explainers' one question: one image, raw pixels [C,H,W] at model input size, and B visibility
 * masks [B,H,W] (nonzero = visible). Returns the logits [B, classes] of the B mutants under the mode:
 * plain (masks ignored), AD, or fill (fill_source from adx_fill_source, [C,H,W]). */
adx_status adx_engine_query(adx_engine *e, const struct adx_mode *m, const struct adx_norm *norm,
                            const float *raw, const float *fill_source, const uint8_t *masks, int B,
                            const adx_tensor **logits, adx_error *err);

/* Incremental queries (docs/performance.md, "Incremental mutants"): on, adx_engine_query in a fill or AD
 * mode runs the unmasked image once per image and recomputes, per mutant, only the Conv output positions
 * whose window reads a changed input (AD: a hidden pixel's cone), copying the image's own activations
 * elsewhere; on the oneDNN path bit for bit the full computation (AD under partial renormalisation runs in
 * full), on the BLAS path (fill only) within rounding. Off: exactly the full computation. The engine starts
 * with ADX_INCREMENTAL's setting. */
void adx_engine_set_incremental(adx_engine *e, int on);
int adx_engine_incremental(const adx_engine *e);
/* Conv samples the incremental path copied from the image's base / recomputed in part / computed in full,
 * summed over layers since the engine was made (out[0..2]). */
void adx_engine_incremental_stats(const adx_engine *e, long out[3]);
/* Values plain and AD runs keep in the blocked layout at the current shapes (-1: no run since the shapes
 * changed; AD runs under partial renormalisation keep none). */
int adx_engine_blocked_values(adx_engine *e);

/* Shape of the first input at batch 1 (e.g. [1,3,224,224]). */
const adx_value *adx_engine_input(const adx_engine *e);
/* Plan buffers for batches up to `batch` now (shape inference, activation arena, scratch) without
 * running: a model whose buffers exceed g->max_activation_bytes is refused here with ADX_ERR_LIMIT. */
adx_status adx_engine_reserve(adx_engine *e, int64_t batch, adx_error *err);

#endif
