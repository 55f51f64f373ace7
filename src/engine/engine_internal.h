/* Internal: engine state shared by the plain runner (engine.c) and the masked runner (AD/fill). */
#ifndef ADX_ENGINE_INTERNAL_H
#define ADX_ENGINE_INTERNAL_H

#include "adx/ad.h"
#include "adx/engine.h"

#define ADX_ENGINE_MAX_OUTPUTS 16

typedef struct adx_incr adx_incr; /* incremental queries, fill and AD (incr.c) */

struct adx_engine {
  adx_graph *g;
  int threads;
  int lib;          /* convolutions through oneDNN (1) or the BLAS reference path (0): ADX_CONV */
  int64_t capacity; /* batch size the arena is planned for */
  adx_tensor *vt;   /* per value: its tensor at the current batch (views into arena or constants) */
  size_t *offset;   /* per value: byte offset in arena */
  int *first, *last;
  void *arena;
  size_t arena_bytes;
  void *scratch;
  size_t scratch_bytes;
  const adx_tensor *outptr[ADX_ENGINE_MAX_OUTPUTS];
  const adx_tensor **ins; /* operand lists for run_node */
  adx_tensor **outs;
  adx_ad_state *ad; /* the AD runner's buffers (src/ad/run.c), made on the first AD run */
  float *staging;   /* query inputs [B,C,H,W] */
  size_t staging_floats;
  int incremental; /* fill queries reuse the unmasked image's Conv outputs (incr.c): ADX_INCREMENTAL */
  double
      incr_frac;  /* a Conv sample with at most this fraction of changed positions is recomputed there only */
  adx_incr *incr; /* the incremental runner's buffers and the current image's base, made on first use */
  int layout;     /* ADX_LAYOUT: 1 (default) hand blocked activations between oneDNN layers, 0 NCHW only */
  uint8_t *blocked; /* the plain runner's layout plan: per value 0 (NCHW) or its block size (engine.c) */
  int plan_ok;      /* blocked is valid for the current shapes */
  const uint8_t *run_blocked; /* the plan of the AD run in progress (NULL: NCHW) */
  int chunk;                  /* micro-batch: ADX_CHUNK or adx_engine_set_chunk (0: auto_chunk) */
  int auto_chunk;             /* the engine's own choice, made on first use (0: not yet) */
  void *chunk_out;            /* a chunked batch's first output, gathered pass by pass */
  size_t chunk_out_bytes;
  adx_tensor chunk_t; /* its tensor */
};

/* Run one pass of at most adx_engine_chunk(e) samples through `pass` for each part of a batch of B and
 * gather the parts' first outputs into e->chunk_t; *out then points at it (or at the one pass's own
 * output when B fits in one pass). */
typedef adx_status (*adx_engine_pass)(adx_engine *e, void *ctx, int b0, int nb, const adx_tensor **out,
                                      adx_error *err);
adx_status adx_engine_chunked(adx_engine *e, int B, adx_engine_pass pass, void *ctx, const adx_tensor **out,
                              adx_error *err);

adx_status adx_engine_prepare_batch(adx_engine *e, int64_t batch, adx_error *err);
adx_status adx_engine_bind_input(adx_engine *e, int k, const adx_tensor *in, adx_error *err);
adx_status adx_engine_run_node(adx_engine *e, int idx, adx_error *err);
/* The same with a layout plan (NULL: every value NCHW). */
adx_status adx_engine_run_node_in(adx_engine *e, int idx, const uint8_t *blocked, adx_error *err);
/* The layout plan for an AD run at the current shapes (the plain runs' own; NULL: NCHW only). */
adx_status adx_engine_ad_plan(adx_engine *e, const uint8_t **plan, adx_error *err);
/* A fill-mode batch, incrementally: input [B,C,H,W] holds the mutants of the image raw [C,H,W] (normalised
 * by norm); the result equals adx_engine_run's within rounding (docs/performance.md). */
adx_status adx_engine_run_incremental(adx_engine *e, const adx_norm *norm, const float *raw,
                                      const adx_tensor *input, const adx_tensor **output, adx_error *err);
void adx_incr_free(adx_incr *ic);
/* An AD batch of one image's mutants, incrementally (the image raw normalised by norm is the base); the
 * same bits as adx_engine_run_ad (docs/performance.md). */
adx_status adx_engine_run_ad_incremental(adx_engine *e, const adx_norm *norm, const float *raw,
                                         const adx_tensor *input, const uint8_t *masks, const adx_ad_opts *o,
                                         const adx_tensor **output, adx_error *err);
/* Incremental AD's side of the engine (incr.c), for the AD runner's host (masked.c): the base made or kept
 * and the input's map from the masks (plan: the run's layout plan); the maps through one node; and what
 * one Conv sample may reuse (adx_ad_host.incr_conv). */
adx_status adx_incr_ad_begin(adx_engine *e, const adx_norm *norm, const float *raw, const uint8_t *masks,
                             int B, const uint8_t *plan, adx_error *err);
adx_status adx_incr_ad_node(adx_engine *e, int node, adx_error *err);
int adx_incr_ad_conv(const adx_engine *e, int vout, int b, const uint8_t **unchanged, const float **base);

#endif
