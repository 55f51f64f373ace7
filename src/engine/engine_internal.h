/* Internal: engine state shared by the plain runner (engine.c) and the masked runner (AD/fill). */
#ifndef ADX_ENGINE_INTERNAL_H
#define ADX_ENGINE_INTERNAL_H

#include "adx/ad.h"
#include "adx/engine.h"

#define ADX_ENGINE_MAX_OUTPUTS 16

/* AD: a channel range of a value and its mask [B,H,W] (1 = active). */
typedef adx_mseg adx_eseg;

/* AD mask state of one value: nseg == 0 means unmasked (fully active, or not spatial). */
typedef struct adx_vmask {
  int nseg, seg_cap;
  adx_eseg *seg;
  uint8_t *own; /* this value's own mask storage, when it is not an alias */
  size_t own_bytes;
  const uint8_t *full; /* [B]: 1 where a sample's masks are all active (work is skipped for it) */
  uint8_t *own_full;   /* [capacity] storage for full, when it is not an alias */
} adx_vmask;

struct adx_engine {
  adx_graph *g;
  int threads;
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
  /* AD state (masked.c) */
  adx_vmask *vm;
  int64_t vm_capacity;
  int32_t *active; /* active output positions, [B][OH*OW] */
  size_t active_cap;
  int *nactive_buf;
  int nactive_cap;
  float *staging; /* query inputs [B,C,H,W] */
  size_t staging_floats;
  int fallback_node; /* first node where AD fell back to plain computation, or -1 */
};

adx_status adx_engine_prepare_batch(adx_engine *e, int64_t batch, adx_error *err);
adx_status adx_engine_bind_input(adx_engine *e, int k, const adx_tensor *in, adx_error *err);
adx_status adx_engine_run_node(adx_engine *e, int idx, adx_error *err);
void adx_engine_masks_free(adx_engine *e);

#endif
