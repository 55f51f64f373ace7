/* The engine: plans activation buffers for a graph once per batch capacity, then runs the live
 * nodes in order. Plans only grow: a batch smaller than the capacity reuses the same offsets, since
 * every activation's size is monotone in the batch size. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../ops/conv.h"
#include "adx/engine.h"
#include "engine_internal.h"

static void release_plan(adx_engine *e) {
  adx_free(e->arena);
  adx_free(e->scratch);
  e->arena = NULL;
  e->scratch = NULL;
  e->arena_bytes = e->scratch_bytes = 0;
  e->capacity = 0;
}

void adx_engine_free(adx_engine *e) {
  if (!e) return;
  release_plan(e);
  adx_ad_state_free(e->ad);
  adx_incr_free(e->incr);
  adx_free(e->staging);
  free(e->chunk_out);
  free(e->ins);
  free(e->outs);
  free(e->blocked);
  free(e->vt);
  free(e->offset);
  free(e->first);
  free(e->last);
  free(e);
}

static size_t value_bytes(const adx_value *v) {
  return (size_t)adx_value_numel(v) * adx_dtype_size(v->dtype);
}

void adx_engine_set_chunk(adx_engine *e, int n) { e->chunk = n > 0 ? n : 0; }

/* The engine's own micro-batch. A pass runs the graph node by node over its samples, so a node's operands
 * for the whole pass should fit in a core's cache: CHUNK_CACHE bytes per thread over the largest per-sample
 * working set of a node (its batched inputs and outputs); no split (CHUNK_MAX_PER_THREAD) when a single
 * sample's working set exceeds that (ResNet-18 at 224 px lost 10-25% at 2 threads in passes of 2, and gained
 * nothing at 1 thread in passes of 1). With several threads a pass also pays
 * one fork and join per node; when idle threads sleep at once (OMP_WAIT_POLICY=passive) each join is a
 * wake-up that small passes do not amortise: at least CHUNK_MIN_PASSIVE samples per thread then. Measured
 * on the Fashion ResNet and ResNet-18 (docs/performance.md, "Micro-batches"). */
enum { CHUNK_CACHE = 1 << 20, CHUNK_MIN_PASSIVE = 32, CHUNK_MAX_PER_THREAD = 64 };

static int passive_waits(void) {
  const char *p = getenv("OMP_WAIT_POLICY");
  return p && !strcasecmp(p, "passive");
}

int adx_engine_chunk(adx_engine *e) {
  if (e->chunk > 0) return e->chunk;
  if (e->auto_chunk > 0) return e->auto_chunk;
  const adx_graph *g = e->g;
  size_t ws = 1;
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    size_t b = 0;
    for (int k = 0; k < n->nin + n->nout; k++) {
      int v = k < n->nin ? n->in[k] : n->out[k - n->nin];
      const adx_value *val = v >= 0 ? &g->values[v] : NULL;
      if (val && val->batched && !val->is_const && g->batch > 0 && adx_value_numel(val) > 0)
        b += value_bytes(val) / (size_t)g->batch;
    }
    if (b > ws) ws = b;
  }
  size_t per = CHUNK_CACHE / ws;
  /* one sample already overflows the cache: passes gain nothing there and cost their overheads */
  if (per < 1 || per > CHUNK_MAX_PER_THREAD) per = CHUNK_MAX_PER_THREAD;
  if (e->threads > 1 && passive_waits() && per < CHUNK_MIN_PASSIVE) per = CHUNK_MIN_PASSIVE;
  e->auto_chunk = (int)per * e->threads;
  return e->auto_chunk;
}

adx_status adx_engine_chunked(adx_engine *e, int B, adx_engine_pass pass, void *ctx, const adx_tensor **out,
                              adx_error *err) {
  const int chunk = adx_engine_chunk(e);
  if (B <= chunk) return pass(e, ctx, 0, B, out, err);
  const int parts = (B + chunk - 1) / chunk, step = (B + parts - 1) / parts; /* passes of near-equal size */
  for (int b0 = 0; b0 < B; b0 += step) {
    int nb = B - b0 < step ? B - b0 : step;
    const adx_tensor *o;
    adx_status s = pass(e, ctx, b0, nb, &o, err);
    if (s) return s;
    if (o->ndim < 1 || o->dims[0] != nb)
      return adx_fail(err, ADX_ERR_SHAPE, "a pass of %d samples gave an output of %lld rows", nb,
                      (long long)(o->ndim ? o->dims[0] : 0));
    size_t row = (size_t)(adx_tensor_numel(o) / nb) * adx_dtype_size(o->dtype), need = row * (size_t)B;
    if (b0 == 0) {
      if (need > e->chunk_out_bytes) {
        free(e->chunk_out);
        e->chunk_out_bytes = 0;
        if (!(e->chunk_out = malloc(need)))
          return adx_fail(err, ADX_ERR_NOMEM, "out of memory for the outputs of %d samples", B);
        e->chunk_out_bytes = need;
      }
      e->chunk_t = *o;
      e->chunk_t.dims[0] = B;
      e->chunk_t.data = e->chunk_out;
      e->chunk_t.owns_data = 0;
    }
    memcpy((char *)e->chunk_out + row * (size_t)b0, o->data, row * (size_t)nb);
  }
  *out = &e->chunk_t;
  return ADX_OK;
}

void adx_engine_set_incremental(adx_engine *e, int on) { e->incremental = on != 0; }
int adx_engine_incremental(const adx_engine *e) { return e->incremental; }

adx_status adx_engine_create(adx_graph *g, int threads, adx_engine **out, adx_error *err) {
  *out = NULL;
  if (g->ninputs < 1 || g->noutputs < 1)
    return adx_fail(err, ADX_ERR_ARG, "model has no inputs or no outputs");
  adx_engine *e = calloc(1, sizeof *e);
  if (!e) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  e->g = g;
  e->threads = threads > 0 ? threads : adx_threads_get();
  e->lib = adx_conv_backend();
  if (e->lib < 0) {
    free(e);
    return adx_fail(err, ADX_ERR_ARG,
                    "ADX_CONV is '%s'; it must be 'dnnl' (oneDNN, the default), 'dnnl-direct' or 'blas'",
                    getenv("ADX_CONV"));
  }
  e->incremental = adx_incremental_setting(&e->incr_frac);
  if (e->incremental < 0 || e->incr_frac < 0) {
    int bad_on = e->incremental < 0;
    free(e);
    return adx_fail(err, ADX_ERR_ARG,
                    bad_on ? "ADX_INCREMENTAL is '%s'; it must be 0 or 1"
                           : "ADX_INCREMENTAL_FRACTION is '%s'; it must be a number in [0, 1]",
                    getenv(bad_on ? "ADX_INCREMENTAL" : "ADX_INCREMENTAL_FRACTION"));
  }
  {
    const char *f = getenv("ADX_INCREMENTAL_FRACTION");
    if ((!f || !*f) && !e->lib) e->incr_frac = ADX_INCREMENTAL_DEFAULT_FRACTION_BLAS; /* the gather kernel */
  }
  e->layout = adx_layout_setting();
  if (e->layout < 0) {
    free(e);
    return adx_fail(err, ADX_ERR_ARG, "ADX_LAYOUT is '%s'; it must be 'blocked' (the default) or 'nchw'",
                    getenv("ADX_LAYOUT"));
  }
  e->chunk = adx_chunk_setting();
  if (e->chunk < 0) {
    free(e);
    return adx_fail(err, ADX_ERR_ARG, "ADX_CHUNK is '%s'; it must be 'auto' or a number of samples from 1",
                    getenv("ADX_CHUNK"));
  }
  if (adx_ad_band_setting() < 0) {
    free(e);
    return adx_fail(err, ADX_ERR_ARG, "ADX_AD_BAND is '%s'; it must be 1 (the default) or 0",
                    getenv("ADX_AD_BAND"));
  }
  size_t nv = (size_t)g->nvalues;
  e->vt = calloc(nv, sizeof *e->vt);
  e->blocked = calloc(nv, 1);
  e->offset = calloc(nv, sizeof *e->offset);
  e->first = calloc(nv, sizeof *e->first);
  e->last = calloc(nv, sizeof *e->last);
  int maxio = 1;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i].nin > maxio) maxio = g->nodes[i].nin;
    if (g->nodes[i].nout > maxio) maxio = g->nodes[i].nout;
  }
  e->ins =
      calloc((size_t)maxio, sizeof *e->ins); /* operand lists sized for the widest node (DenseNet's Concat) */
  e->outs = calloc((size_t)maxio, sizeof *e->outs);
  if (!e->vt || !e->offset || !e->first || !e->last || !e->ins || !e->outs || !e->blocked) {
    adx_engine_free(e);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  }
  adx_threads_set(e->threads);
  *out = e;
  return ADX_OK;
}

const adx_value *adx_engine_input(const adx_engine *e) { return &e->g->values[e->g->inputs[0]]; }

static size_t round64(size_t x) { return (x + 63) & ~(size_t)63; }

/* Lifetimes in node-index units: a value lives from its producer to its last consumer. */
static void compute_lifetimes(adx_engine *e) {
  adx_graph *g = e->g;
  for (int i = 0; i < g->nvalues; i++) {
    e->first[i] = g->values[i].producer;
    e->last[i] = g->values[i].is_output ? g->nnodes : g->values[i].producer;
  }
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->nin; k++)
      if (n->in[k] >= 0 && e->last[n->in[k]] < i) e->last[n->in[k]] = i;
  }
}

typedef struct slot {
  int value;
  size_t size;
} slot;

static int by_size_desc(const void *a, const void *b) {
  const slot *x = a, *y = b;
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  return x->value - y->value;
}

static size_t scratch_need(const adx_engine *e);

/* The activation cap: arena + scratch bytes for the current batch against g->max_activation_bytes,
 * checked before either is allocated. The message names the model, the batch and the largest value. */
static adx_status over_cap(const adx_engine *e, size_t arena, size_t scratch, adx_error *err) {
  const adx_graph *g = e->g;
  if (g->max_activation_bytes <= 0 || arena + scratch <= (uint64_t)g->max_activation_bytes) return ADX_OK;
  int big = -1;
  for (int i = 0; i < g->nvalues; i++) {
    const adx_value *v = &g->values[i];
    if (v->is_const || v->producer < 0) continue;
    if (big < 0 || value_bytes(v) > value_bytes(&g->values[big])) big = i;
  }
  char ds[160] = "";
  if (big >= 0) adx_dims_str(g->values[big].dims, g->values[big].ndim, ds, sizeof ds);
  char sa[32], ss[32], sl[32];
  return adx_fail(err, ADX_ERR_LIMIT,
                  "%s: a batch of %lld needs %s of activations and %s of scratch, over the limit of %s "
                  "(max_activation_mem; the largest value is '%s' %s); lower --batch or raise "
                  "--max-activation-mem",
                  g->path && g->path[0] ? g->path : "model", (long long)g->batch,
                  adx_bytes_str(arena, sa, sizeof sa), adx_bytes_str(scratch, ss, sizeof ss),
                  adx_bytes_str((uint64_t)g->max_activation_bytes, sl, sizeof sl),
                  big >= 0 ? g->values[big].name : "?", ds);
}

/* Greedy offset assignment: largest first, each placed at the lowest offset that does not
 * overlap any already-placed value whose lifetime intersects its own. */
static adx_status plan_arena(adx_engine *e, adx_error *err) {
  adx_graph *g = e->g;
  adx_status s_over;
  compute_lifetimes(e);
  slot *slots = malloc(sizeof *slots * (size_t)g->nvalues);
  int *placed = malloc(sizeof *placed * (size_t)g->nvalues);
  if (!slots || !placed) {
    free(slots);
    free(placed);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory planning buffers");
  }
  int ns = 0;
  for (int i = 0; i < g->nvalues; i++) {
    const adx_value *v = &g->values[i];
    if (v->is_const || v->producer < 0 || g->nodes[v->producer].dead) continue;
    slots[ns].value = i;
    slots[ns].size = round64(value_bytes(v));
    ns++;
  }
  qsort(slots, (size_t)ns, sizeof *slots, by_size_desc);
  size_t total = 0;
  int np = 0;
  for (int s = 0; s < ns; s++) {
    int v = slots[s].value;
    size_t off = 0;
    for (int moved = 1; moved;) {
      moved = 0;
      for (int p = 0; p < np; p++) {
        int u = placed[p];
        if (e->last[u] < e->first[v] || e->last[v] < e->first[u]) continue; /* lifetimes disjoint */
        size_t ustart = e->offset[u], uend = ustart + round64(value_bytes(&g->values[u]));
        if (off < uend && ustart < off + slots[s].size) {
          off = uend;
          moved = 1;
        }
      }
    }
    e->offset[v] = off;
    placed[np++] = v;
    if (off + slots[s].size > total) total = off + slots[s].size;
  }
  free(slots);
  free(placed);
  if ((s_over = over_cap(e, total, scratch_need(e), err))) return s_over;
  adx_free(e->arena);
  e->arena = adx_alloc(total);
  if (!e->arena) return adx_fail(err, ADX_ERR_NOMEM, "out of memory: activations need %zu bytes", total);
  e->arena_bytes = total;
  return ADX_OK;
}

static size_t scratch_need(const adx_engine *e) {
  const adx_graph *g = e->g;
  size_t need = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead || !n->op->scratch) continue;
    size_t s = n->op->scratch(g, n, e->threads);
    if (s > need) need = s;
  }
  return need;
}

static adx_status ensure_scratch(adx_engine *e, adx_error *err) {
  size_t need = scratch_need(e);
  if (need <= e->scratch_bytes && e->scratch) return ADX_OK;
  adx_status s = over_cap(e, e->arena_bytes, need, err);
  if (s) return s;
  adx_free(e->scratch);
  e->scratch = adx_alloc(need);
  if (!e->scratch) return adx_fail(err, ADX_ERR_NOMEM, "out of memory: scratch needs %zu bytes", need);
  e->scratch_bytes = need;
  return ADX_OK;
}

adx_status adx_engine_prepare_batch(adx_engine *e, int64_t batch, adx_error *err) {
  adx_graph *g = e->g;
  adx_status s;
  if (batch != g->batch || !e->arena) {
    if ((s = adx_graph_infer(g, batch, err))) return s;
    e->plan_ok = 0;
  }
  if (batch > e->capacity) {
    if ((s = plan_arena(e, err))) return s;
    e->capacity = batch;
  }
  if ((s = ensure_scratch(e, err))) return s;
  /* Bind every value to its storage at the current shapes. */
  for (int i = 0; i < g->nvalues; i++) {
    const adx_value *v = &g->values[i];
    adx_tensor *t = &e->vt[i];
    if (v->is_const) {
      *t = v->cval;
      t->owns_data = 0;
      continue;
    }
    t->dtype = v->dtype;
    t->ndim = v->ndim;
    memcpy(t->dims, v->dims, sizeof t->dims);
    t->owns_data = 0;
    t->data = (v->producer >= 0) ? (char *)e->arena + e->offset[i] : NULL;
  }
  return ADX_OK;
}

adx_status adx_engine_reserve(adx_engine *e, int64_t batch, adx_error *err) {
  if (batch < 1) return adx_fail(err, ADX_ERR_ARG, "batch size %lld must be at least 1", (long long)batch);
  return adx_engine_prepare_batch(e, batch, err);
}

adx_status adx_engine_bind_input(adx_engine *e, int k, const adx_tensor *in, adx_error *err) {
  adx_graph *g = e->g;
  const adx_value *v = &g->values[g->inputs[k]];
  char a[96], b[96];
  if (in->dtype != v->dtype || in->ndim != v->ndim ||
      memcmp(in->dims + 1, v->dims + 1, sizeof(int64_t) * (size_t)(v->ndim > 0 ? v->ndim - 1 : 0)) ||
      (v->ndim > 0 && in->dims[0] != v->dims[0]))
    return adx_fail(err, ADX_ERR_SHAPE, "input '%s' has shape %s but the model expects %s", v->name,
                    adx_dims_str(in->dims, in->ndim, a, sizeof a),
                    adx_dims_str(v->dims, v->ndim, b, sizeof b));
  e->vt[g->inputs[k]].data = in->data;
  return ADX_OK;
}

static adx_status run_node(adx_engine *e, int idx, const uint8_t *blocked, adx_error *err) {
  adx_graph *g = e->g;
  const adx_node *n = &g->nodes[idx];
  const adx_tensor **ins = e->ins;
  adx_tensor **outs = e->outs;
  for (int k = 0; k < n->nin; k++) ins[k] = n->in[k] >= 0 ? &e->vt[n->in[k]] : NULL;
  for (int k = 0; k < n->nout; k++) outs[k] = &e->vt[n->out[k]];
  adx_op_ctx ctx = {e->scratch, e->scratch_bytes, e->threads, e->lib, blocked};
  return n->op->run(n, ins, outs, &ctx, err);
}

adx_status adx_engine_run_node(adx_engine *e, int idx, adx_error *err) { return run_node(e, idx, NULL, err); }
adx_status adx_engine_run_node_in(adx_engine *e, int idx, const uint8_t *blocked, adx_error *err) {
  return run_node(e, idx, blocked, err);
}

/* ---- the layout plan (plain runs through oneDNN only) ----
 * oneDNN's convolutions read and write activations of B-multiple channels in the blocked layout nChw<B>c
 * (conv_lib.c); reordering each one to NCHW after a layer and back before the next was a quarter of the
 * Fashion ResNet's convolution time. A value stays blocked when its producer writes that layout and every
 * consumer reads it: a Conv (its data input), a global pool, MaxPool, and the pointwise operators below on
 * operands of one shape, which compute element by element whatever the order of the elements; those and
 * MaxPool need all their operands and their output in one layout. Everything else, graph outputs and the AD
 * and incremental runners see NCHW. Reorders are exact and the kernels are the same, so the plan changes no
 * bit of any result (tests/engine/test_layout.c). */
static int pointwise(const adx_graph *g, const adx_node *n) {
  static const char *const names[] = {"Add",  "Sub",         "Mul",       "Div",  "Relu",   "LeakyRelu",
                                      "Clip", "HardSigmoid", "HardSwish", "Tanh", "Sigmoid"};
  int known = 0;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) known |= !strcmp(n->op->name, names[i]);
  if (!known || n->nout != 1) return 0;
  const adx_value *o = &g->values[n->out[0]];
  int binary = !strcmp(n->op->name, "Add") || !strcmp(n->op->name, "Sub") || !strcmp(n->op->name, "Mul") ||
               !strcmp(n->op->name, "Div");
  for (int k = 0; k < n->nin; k++) {
    if (n->in[k] < 0) continue;
    const adx_value *v = &g->values[n->in[k]];
    if ((k == 0 || binary) && v->is_const) return 0; /* a constant operand is NCHW */
    if (k == 0 || binary) {
      if (v->ndim != o->ndim || memcmp(v->dims, o->dims, sizeof(int64_t) * (size_t)o->ndim)) return 0;
    } else if (!v->is_const) /* Clip's bounds */
      return 0;
  }
  return 1;
}

/* Operators whose data input and output must share a layout: the pointwise ones and MaxPool (pool.c runs
 * it on nChw<B>c, visiting each channel's taps in the NCHW kernel's order; the AD runner's masked
 * recomputation reads and writes it too, src/ad/run.c). */
static int maxpool1(const adx_node *n) { return !strcmp(n->op->name, "MaxPool") && n->nout == 1; }
static int follows(const adx_graph *g, const adx_node *n) { return pointwise(g, n) || maxpool1(n); }

static int is_data_operand(const adx_graph *g, const adx_node *n, int k) {
  return n->in[k] >= 0 && (k == 0 || !g->values[n->in[k]].is_const);
}

static adx_status plan_layouts(adx_engine *e, adx_error *err) {
  adx_graph *g = e->g;
  uint8_t *b = e->blocked;
  memset(b, 0, (size_t)g->nvalues);
  e->plan_ok = 1;
  if (!e->lib || !e->layout) return ADX_OK;
  const int B = adx_conv_lib_block();
  /* candidates: 4-D float activations of whole blocks of channels, not graph outputs */
  for (int i = 0; i < g->nvalues; i++) {
    const adx_value *v = &g->values[i];
    b[i] = !v->is_const && !v->is_output && v->producer >= 0 && v->dtype == ADX_F32 && v->ndim == 4 &&
           v->dims[1] % B == 0;
  }
  /* producers that cannot write it, consumers that cannot read it */
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    int conv = !strcmp(n->op->name, "Conv"), pw = follows(g, n);
    int gpool = !strcmp(n->op->name, "GlobalAveragePool") || !strcmp(n->op->name, "GlobalMaxPool");
    int src = 0, dst = 0;
    if (conv) {
      const adx_conv_lib *l;
      adx_status s = adx_conv_lib_of(n, 0, e->threads, &l, err);
      if (s) return s;
      adx_conv_lib_blocked(l, &src, &dst);
    }
    for (int k = 0; k < n->nout; k++)
      if (!(conv && dst) && !pw) b[n->out[k]] = 0;
    for (int k = 0; k < n->nin; k++) {
      if (n->in[k] < 0) continue;
      int ok = (conv && k == 0 && src) || (gpool && k == 0) || (pw && is_data_operand(g, n, k));
      if (!ok) b[n->in[k]] = 0;
    }
  }
  /* a pointwise operator needs all its data operands and its output in one layout */
  for (int changed = 1; changed;) {
    changed = 0;
    for (int i = 0; i < g->nnodes; i++) {
      const adx_node *n = &g->nodes[i];
      if (n->dead || !follows(g, n)) continue;
      int all = b[n->out[0]] != 0;
      for (int k = 0; k < n->nin; k++)
        if (is_data_operand(g, n, k)) all &= b[n->in[k]] != 0;
      if (all) continue;
      for (int k = 0; k < n->nin; k++)
        if (is_data_operand(g, n, k) && b[n->in[k]]) b[n->in[k]] = 0, changed = 1;
      if (b[n->out[0]]) b[n->out[0]] = 0, changed = 1;
    }
  }
  for (int i = 0; i < g->nvalues; i++) b[i] = b[i] ? (uint8_t)B : 0;
  return ADX_OK;
}

adx_status adx_engine_ad_plan(adx_engine *e, const uint8_t **plan, adx_error *err) {
  *plan = NULL;
  adx_status s;
  if (!e->plan_ok && (s = plan_layouts(e, err))) return s;
  *plan = e->lib && e->layout ? e->blocked : NULL;
  return ADX_OK;
}

int adx_engine_blocked_values(adx_engine *e) {
  if (!e->plan_ok) return -1;
  int c = 0;
  for (int i = 0; i < e->g->nvalues; i++) c += e->blocked[i] != 0;
  return c;
}

int adx_engine_crop_shapes(const adx_engine *e) {
  int c = 0;
  for (int i = 0; i < e->g->nnodes; i++) {
    const adx_node *n = &e->g->nodes[i];
    if (n->dead || strcmp(n->op->name, "Conv") || !adx_conv_params_of(n)) continue;
    c += adx_conv_lib_crop_shapes(adx_conv_params_of(n)->lib[0]);
  }
  return c;
}

static adx_status run_plain(adx_engine *e, adx_error *err) {
  adx_graph *g = e->g;
  adx_status s;
  if (!e->plan_ok && (s = plan_layouts(e, err))) return s;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i].dead) continue;
    if ((s = run_node(e, i, e->blocked, err))) return s;
  }
  return ADX_OK;
}

adx_status adx_engine_run_all(adx_engine *e, const adx_tensor *const *inputs, int ninputs,
                              const adx_tensor *const **outputs, adx_error *err) {
  adx_graph *g = e->g;
  if (ninputs != g->ninputs)
    return adx_fail(err, ADX_ERR_ARG, "model has %d inputs but %d were given", g->ninputs, ninputs);
  const adx_value *first = &g->values[g->inputs[0]];
  int64_t batch = (first->batched && inputs[0]->ndim > 0) ? inputs[0]->dims[0] : g->batch;
  adx_status s = adx_engine_prepare_batch(e, batch, err);
  if (s) return s;
  for (int k = 0; k < ninputs; k++)
    if ((s = adx_engine_bind_input(e, k, inputs[k], err))) return s;
  if ((s = run_plain(e, err))) return s;
  for (int k = 0; k < g->noutputs && k < ADX_ENGINE_MAX_OUTPUTS; k++) e->outptr[k] = &e->vt[g->outputs[k]];
  *outputs = (const adx_tensor *const *)e->outptr;
  return ADX_OK;
}

/* One pass of adx_engine_run: samples [b0, b0 + nb) of the input */
static adx_status run_pass(adx_engine *e, void *ctx, int b0, int nb, const adx_tensor **out, adx_error *err) {
  const adx_tensor *input = ctx;
  adx_tensor part = *input;
  part.dims[0] = nb;
  part.data = (char *)input->data +
              (size_t)b0 * (size_t)(adx_tensor_numel(input) / input->dims[0]) * adx_dtype_size(input->dtype);
  const adx_tensor *const *outs;
  const adx_tensor *ins[1] = {&part};
  adx_status s = adx_engine_run_all(e, ins, 1, &outs, err);
  if (!s) *out = outs[0];
  return s;
}

adx_status adx_engine_run(adx_engine *e, const adx_tensor *input, const adx_tensor **output, adx_error *err) {
  const adx_graph *g = e->g;
  if (g->ninputs != 1)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "model has %d inputs; adx expects one image input", g->ninputs);
  /* passes of a batched image input whose first output is batched too; anything else in one run */
  if (input->ndim > 0 && input->dims[0] > 1 && g->values[g->inputs[0]].batched &&
      g->values[g->outputs[0]].batched && g->noutputs == 1)
    return adx_engine_chunked(e, (int)input->dims[0], run_pass, (void *)input, output, err);
  const adx_tensor *const *outs;
  const adx_tensor *ins[1] = {input};
  adx_status s = adx_engine_run_all(e, ins, 1, &outs, err);
  if (!s) *output = outs[0];
  return s;
}
