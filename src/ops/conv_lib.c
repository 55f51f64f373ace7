/* Conv through oneDNN's convolution primitive (the "library" path; docs/performance.md).
 *
 * One primitive per layer, made for a single sample (mb = 1) with oneDNN's threading fixed at 1 while it
 * is created, and always executed inside an OpenMP parallel region (one sample per thread). A sample's
 * result therefore never depends on the batch it is in or on the thread count, exactly as on the BLAS
 * path. Activations whose channel count is a multiple of the CPU's vector width (16 floats on AVX-512, 8
 * otherwise) are asked for in the blocked layout nChw16c / nChw8c (oneDNN's aBcd16b / aBcd8b), so that
 * consecutive layers agree on one layout; the engine then hands such activations from layer to layer
 * without reordering them (engine.c, the layout plan). Everything else is left to the library ("any").
 * A caller that holds NCHW data gets it reordered to and from the library's layout per sample; the
 * weights are reordered once when the primitive is made.
 *
 * Two flavours per layer: "fused" (bias + the fused activation as post-ops: the plain forward) and "raw"
 * (the bare sum, no bias: AD's partial renormalisation scales it before adding the bias). */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/core.h"
#include "conv.h"
#include "ops.h"

typedef struct slot {
  dnnl_stream_t st;
  dnnl_memory_t usrc, udst; /* NCHW views of the caller's sample (handle set per call) */
  dnnl_memory_t src, dst;   /* the library's layout (== usrc/udst when no reorder is needed) */
  dnnl_memory_t bsrc,
      bdst;          /* the caller's sample already in the library's blocked layout (handle per call) */
  dnnl_memory_t scr; /* per-thread scratchpad */
  float *bin, *bout; /* band crops (adx_conv_lib_sample_band), allocated at the first use */
  void *bscr;        /* band scratchpad, grown as needed */
  size_t bscr_bytes;
} slot;

/* A primitive for an output crop of oh x ow positions read from an explicitly zero-padded input crop
 * (no padding of its own), so that one primitive serves every crop of that shape. conv == NULL: this
 * shape is not used (oneDNN chose another kernel for it, or none). */
typedef struct band {
  dnnl_primitive_t conv;
  dnnl_memory_desc_t src_md, dst_md, scr_md;
  dnnl_memory_t wmem; /* the weights in this crop's own Winograd layout (the layer's: NULL) */
  _Atomic unsigned char
      *placed; /* per placement (r0 / align, c0 / align): 0 not checked, 1 same bits, 2 not */
  /* per thread slot, the crop's src, dst and scratchpad memory objects on the slot's buffers (made on the
   * slot's first run of this shape, by the slot's own thread; nmem slots as the band was made) */
  int nmem;
  dnnl_memory_t (*mem)[3];
} band;

struct adx_conv_lib {
  /* what the primitive was made for: rebuilt when any of it changes */
  adx_conv_params key;
  int raw;
  dnnl_engine_t eng;
  dnnl_primitive_t conv, rsrc, rdst; /* reorders: NULL when the library takes NCHW as is */
  dnnl_memory_desc_t usrc_md, udst_md, src_md, dst_md, scr_md, w_md;
  int blk_src, blk_dst; /* src / dst are in the blocked layout adx_conv_lib_block() names (0: not) */
  dnnl_memory_t wmem, bmem;
  int nslots;
  slot *slots;
  char impl[64];
  int align; /* crops are aligned to this many output rows and columns (the kernel's output tile) */
  _Atomic(band *) *bands; /* [OH * OW]: by crop shape, (oh - 1) * OW + ow - 1; made on first use */
  _Atomic int local;      /* crops allowed for this layer: -1 not yet checked, 0 no, 1 yes (layer_local) */
  /* Winograd weights in other layouts, for crops whose primitive blocks the weights differently (made
   * under the crop cache's lock; a layout is made once and shared by every crop shape that takes it) */
  int nwalt;
  dnnl_memory_desc_t walt_md[16];
  dnnl_memory_t walt[16];
  float *ref_x,
      *ref_y; /* a random sample and the whole layer's output for it (crop placements checked on it) */
};

static int same_geometry(const adx_conv_params *a, const adx_conv_params *b) {
  return a->C == b->C && a->H == b->H && a->W == b->W && a->M == b->M && a->OH == b->OH && a->OW == b->OW &&
         a->group == b->group && !memcmp(&a->win, &b->win, sizeof a->win) && a->w == b->w && a->b == b->b &&
         !memcmp(&a->act, &b->act, sizeof a->act);
}

static void slot_free(slot *s) {
  if (s->src && s->src != s->usrc) dnnl_memory_destroy(s->src);
  if (s->dst && s->dst != s->udst) dnnl_memory_destroy(s->dst);
  if (s->bsrc) dnnl_memory_destroy(s->bsrc);
  if (s->bdst) dnnl_memory_destroy(s->bdst);
  if (s->usrc) dnnl_memory_destroy(s->usrc);
  if (s->udst) dnnl_memory_destroy(s->udst);
  if (s->scr) dnnl_memory_destroy(s->scr);
  if (s->st) dnnl_stream_destroy(s->st);
  free(s->bin);
  free(s->bout);
  free(s->bscr);
  memset(s, 0, sizeof *s);
}

void adx_conv_lib_free(adx_conv_lib *l) {
  if (!l) return;
  for (int i = 0; i < l->nslots; i++) slot_free(&l->slots[i]);
  free(l->slots);
  if (l->bands) {
    for (size_t i = 0; i < (size_t)l->key.OH * (size_t)l->key.OW; i++) {
      band *b = atomic_load(&l->bands[i]);
      if (b && b->conv) dnnl_primitive_destroy(b->conv);
      if (b) free((void *)b->placed);
      for (int k = 0; b && b->mem && k < b->nmem; k++)
        for (int j = 0; j < 3; j++)
          if (b->mem[k][j]) dnnl_memory_destroy(b->mem[k][j]);
      if (b) free(b->mem);
      free(b);
    }
    free((void *)l->bands);
  }
  for (int i = 0; i < l->nwalt; i++) dnnl_memory_destroy(l->walt[i]);
  free(l->ref_x);
  free(l->ref_y);
  if (l->conv) dnnl_primitive_destroy(l->conv);
  if (l->rsrc) dnnl_primitive_destroy(l->rsrc);
  if (l->rdst) dnnl_primitive_destroy(l->rdst);
  if (l->wmem) dnnl_memory_destroy(l->wmem);
  if (l->bmem) dnnl_memory_destroy(l->bmem);
  if (l->eng) dnnl_engine_destroy(l->eng);
  free(l);
}

const char *adx_conv_lib_impl(const adx_conv_lib *l) { return l ? l->impl : ""; }

int adx_conv_lib_block(void) {
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  return ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core) == (unsigned)dnnl_cpu_isa_avx512_core ? 16 : 8;
}

void adx_conv_lib_blocked(const adx_conv_lib *l, int *src, int *dst) {
  *src = l ? l->blk_src : 0;
  *dst = l ? l->blk_dst : 0;
}

#define DN(call)                                                                                             \
  do {                                                                                                       \
    dnnl_status_t st_ = (call);                                                                              \
    if (st_ != dnnl_success) {                                                                               \
      snprintf(why, sizeof why, "%.200s (oneDNN status %d)", #call, (int)st_);                               \
      goto fail;                                                                                             \
    }                                                                                                        \
  } while (0)

/* Post-ops for the fused activation; 0 when it cannot be expressed. */
static int act_post_ops(const adx_act *a, dnnl_post_ops_t po) {
  switch (a->kind) {
  case ADX_ACT_NONE: return 1;
  case ADX_ACT_RELU: return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f) == 0;
  case ADX_ACT_LEAKYRELU:
    return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, a->alpha, 0.0f) == 0;
  case ADX_ACT_CLIP: return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, a->lo, a->hi) == 0;
  }
  return 0;
}

/* A reorder from `from` to `to` with a user scratchpad (none is needed for these layouts). */
static dnnl_status_t make_reorder(dnnl_engine_t eng, const dnnl_memory_desc_t *from,
                                  const dnnl_memory_desc_t *to, dnnl_primitive_t *out) {
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL);
  if (s == dnnl_success) s = dnnl_primitive_create(out, pd);
  if (pd) dnnl_primitive_desc_destroy(pd);
  return s;
}

static adx_status build(adx_conv_lib *l, const adx_conv_params *p, int raw, adx_error *err) {
  char why[256] = "";
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t wr = NULL;
  dnnl_memory_t wsrc = NULL;
  const adx_window *w = &p->win;
  const int G = p->group;
  dnnl_dims_t sd = {1, p->C, p->H, p->W}, dd = {1, p->M, p->OH, p->OW}, bd = {p->M};
  dnnl_dims_t wd5 = {G, p->Mg, p->Cg, w->kh, w->kw}, wd4 = {p->M, p->Cg, w->kh, w->kw};
  dnnl_dims_t strides = {w->sh, w->sw}, dil = {w->dh - 1, w->dw - 1}, pl = {w->ph0, w->pw0},
              pr = {w->ph1, w->pw1};
  dnnl_memory_desc_t any_s, any_d, any_w, bmd, uw, blk_s, blk_d;
  l->key = *p;
  l->raw = raw;
  DN(dnnl_engine_create(&l->eng, dnnl_cpu, 0));
  DN(dnnl_memory_desc_init_by_tag(&l->usrc_md, 4, sd, dnnl_f32, dnnl_nchw));
  DN(dnnl_memory_desc_init_by_tag(&l->udst_md, 4, dd, dnnl_f32, dnnl_nchw));
  DN(dnnl_memory_desc_init_by_tag(&any_s, 4, sd, dnnl_f32, dnnl_format_tag_any));
  DN(dnnl_memory_desc_init_by_tag(&any_d, 4, dd, dnnl_f32, dnnl_format_tag_any));
  /* the blocked layout for activations whose channels fill whole vectors; "any" for the others */
  const int B = adx_conv_lib_block();
  const dnnl_format_tag_t btag = B == 16 ? dnnl_aBcd16b : dnnl_aBcd8b;
  DN(dnnl_memory_desc_init_by_tag(&blk_s, 4, sd, dnnl_f32, p->C % B ? dnnl_format_tag_any : btag));
  DN(dnnl_memory_desc_init_by_tag(&blk_d, 4, dd, dnnl_f32, p->M % B ? dnnl_format_tag_any : btag));
  if (G > 1) {
    DN(dnnl_memory_desc_init_by_tag(&any_w, 5, wd5, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&uw, 5, wd5, dnnl_f32, dnnl_goihw));
  } else {
    DN(dnnl_memory_desc_init_by_tag(&any_w, 4, wd4, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&uw, 4, wd4, dnnl_f32, dnnl_oihw));
  }
  int bias = !raw && p->b;
  if (bias) DN(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x));
  /* Winograd (oneDNN's F(2,3) / F(4,3) kernels) for 3x3, stride-1, undilated, ungrouped layers of at
   * least 16 input channels where the library has it for this CPU and these post-ops; direct otherwise, or
   * everywhere under ADX_CONV=dnnl-direct. (Measured on the Fashion ResNet, 1 thread: 1 input channel,
   * Winograd 7.9 against direct 23 GFLOP/s; 16 channels level; 32 and 64 channels Winograd 1.2-1.4x.)
   * Either way one primitive per layer, so the batch-invariance above holds. */
  int wino = adx_conv_winograd_allowed() && G == 1 && p->C >= 16 && w->kh == 3 && w->kw == 3 && w->sh == 1 &&
             w->sw == 1 && w->dh == 1 && w->dw == 1;
  DN(dnnl_primitive_attr_create(&attr));
  DN(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
  if (!raw) {
    DN(dnnl_post_ops_create(&po));
    if (!act_post_ops(&p->act, po)) {
      snprintf(why, sizeof why, "activation %d cannot be a oneDNN post-op", (int)p->act.kind);
      goto fail;
    }
    DN(dnnl_primitive_attr_set_post_ops(attr, po));
  }
  /* (made for one thread: adx_conv_lib_prepare holds OpenMP at 1 around build). Tried in order: Winograd
   * (where allowed) and then direct, first with the blocked activation layouts, then with the library's
   * own choice; a blocked attempt that only a reference kernel implements is passed over. */
  dnnl_status_t cs = dnnl_unimplemented;
  const char *impl = NULL;
  for (int lay = 0; lay < 2 && cs != dnnl_success; lay++)
    for (int a = wino ? 0 : 1; a < 2 && cs != dnnl_success; a++) {
      dnnl_convolution_desc_t cd;
      dnnl_alg_kind_t alg = a == 0 ? dnnl_convolution_winograd : dnnl_convolution_direct;
      cs = dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, alg, lay ? &any_s : &blk_s,
                                                      &any_w, bias ? &bmd : NULL, lay ? &any_d : &blk_d,
                                                      strides, dil, pl, pr);
      if (cs == dnnl_success) cs = dnnl_primitive_desc_create(&pd, &cd, attr, l->eng, NULL);
      if (cs == dnnl_success && lay == 0 &&
          (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
           !strncmp(impl, "ref", 3))) {
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
        cs = dnnl_unimplemented;
      }
    }
  if (cs == dnnl_success) cs = dnnl_primitive_create(&l->conv, pd);
  DN(cs);
  DN(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
  snprintf(l->impl, sizeof l->impl, "%s", impl ? impl : "?");
  /* crops start and end on the kernel's output tiles: a Winograd output is computed from the tile it lies
   * in (F(4,3): 4 x 4, F(2,3): 2 x 2), so a crop must not move the tile grid; a direct kernel's outputs
   * each come from their own window (the guards in sample_crop check both, bit for bit) */
  l->align = strstr(l->impl, "wino_4x3")   ? 4
             : strstr(l->impl, "wino_2x3") ? 2
             : strstr(l->impl, "wino")     ? 4
                                           : 1;
  l->src_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
  l->dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  l->scr_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  l->w_md = *wmd;
  {
    dnnl_memory_desc_t bs, bd2;
    DN(dnnl_memory_desc_init_by_tag(&bs, 4, sd, dnnl_f32, btag));
    DN(dnnl_memory_desc_init_by_tag(&bd2, 4, dd, dnnl_f32, btag));
    l->blk_src = p->C % B == 0 && dnnl_memory_desc_equal(&l->src_md, &bs);
    l->blk_dst = p->M % B == 0 && dnnl_memory_desc_equal(&l->dst_md, &bd2);
  }
  if (!dnnl_memory_desc_equal(&l->src_md, &l->usrc_md))
    DN(make_reorder(l->eng, &l->usrc_md, &l->src_md, &l->rsrc));
  if (!dnnl_memory_desc_equal(&l->dst_md, &l->udst_md))
    DN(make_reorder(l->eng, &l->dst_md, &l->udst_md, &l->rdst));
  /* weights: reordered once into the library's layout */
  DN(dnnl_memory_create(&l->wmem, wmd, l->eng, DNNL_MEMORY_ALLOCATE));
  DN(dnnl_memory_create(&wsrc, &uw, l->eng, (void *)p->w));
  DN(make_reorder(l->eng, &uw, wmd, &wr));
  {
    dnnl_stream_t st = NULL;
    DN(dnnl_stream_create(&st, l->eng, dnnl_stream_default_flags));
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, wsrc}, {DNNL_ARG_TO, l->wmem}};
    dnnl_status_t es = dnnl_primitive_execute(wr, st, 2, a);
    if (es == dnnl_success) es = dnnl_stream_wait(st);
    dnnl_stream_destroy(st);
    DN(es);
  }
  if (bias) DN(dnnl_memory_create(&l->bmem, &bmd, l->eng, (void *)p->b));
  dnnl_primitive_destroy(wr);
  dnnl_memory_destroy(wsrc);
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
  if (po) dnnl_post_ops_destroy(po);
  return ADX_OK;
fail:
  if (wr) dnnl_primitive_destroy(wr);
  if (wsrc) dnnl_memory_destroy(wsrc);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (po) dnnl_post_ops_destroy(po);
  return adx_fail(err, ADX_ERR_UNSUPPORTED, "oneDNN cannot run this convolution: %s", why);
}

static adx_status slots_ensure(adx_conv_lib *l, int n, adx_error *err) {
  if (n <= l->nslots) return ADX_OK;
  char why[256] = "";
  slot *s = realloc(l->slots, sizeof *s * (size_t)n);
  if (!s) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for oneDNN thread slots");
  l->slots = s;
  for (int i = l->nslots; i < n; i++) {
    slot *t = &s[i];
    memset(t, 0, sizeof *t);
    l->nslots = i + 1; /* freed with the rest on failure */
    DN(dnnl_stream_create(&t->st, l->eng, dnnl_stream_default_flags));
    DN(dnnl_memory_create(&t->usrc, &l->usrc_md, l->eng, DNNL_MEMORY_NONE));
    DN(dnnl_memory_create(&t->udst, &l->udst_md, l->eng, DNNL_MEMORY_NONE));
    if (l->rsrc)
      DN(dnnl_memory_create(&t->src, &l->src_md, l->eng, DNNL_MEMORY_ALLOCATE));
    else
      t->src = t->usrc;
    if (l->rdst)
      DN(dnnl_memory_create(&t->dst, &l->dst_md, l->eng, DNNL_MEMORY_ALLOCATE));
    else
      t->dst = t->udst;
    DN(dnnl_memory_create(&t->scr, &l->scr_md, l->eng, DNNL_MEMORY_ALLOCATE));
    if (l->blk_src) DN(dnnl_memory_create(&t->bsrc, &l->src_md, l->eng, DNNL_MEMORY_NONE));
    if (l->blk_dst) DN(dnnl_memory_create(&t->bdst, &l->dst_md, l->eng, DNNL_MEMORY_NONE));
  }
  return ADX_OK;
fail:
  return adx_fail(err, ADX_ERR_NOMEM, "oneDNN thread slot: %s", why);
}

adx_status adx_conv_lib_prepare(adx_conv_lib **lp, const adx_conv_params *p, int raw, int threads,
                                adx_error *err) {
  adx_conv_lib *l = *lp;
  if (l && (!same_geometry(&l->key, p) || l->raw != raw)) {
    adx_conv_lib_free(l);
    *lp = l = NULL;
  }
  if (!l) {
    if (!(l = calloc(1, sizeof *l))) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    /* Everything of the layer (the convolution, both reorders, the weights' reorder) is made for one
     * thread, whatever the caller's OpenMP setting: the blocking, and so the order of every sum, must not
     * depend on the thread count, and a primitive made for n threads opens a team of n when executed. */
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    adx_status s = build(l, p, raw, err);
    omp_set_num_threads(saved);
    size_t nb = (size_t)p->OH * (size_t)p->OW;
    if (!s && !(l->bands = malloc(sizeof *l->bands * (nb ? nb : 1))))
      s = adx_fail(err, ADX_ERR_NOMEM, "out of memory for oneDNN band primitives");
    for (size_t i = 0; !s && i < nb; i++) atomic_init(&l->bands[i], NULL);
    if (!s) atomic_init(&l->local, -1);
    if (s) {
      adx_conv_lib_free(l);
      return s;
    }
    *lp = l;
  }
  return slots_ensure(l, threads > 0 ? threads : 1, err);
}

static int sample_run(const adx_conv_lib *l, const slot *t, const float *x, float *y, int xb, int yb) {
  dnnl_memory_t src = t->src, dst = t->dst;
  if (xb) {
    if (dnnl_memory_set_data_handle(t->bsrc, (void *)x)) return -1;
    src = t->bsrc;
  } else if (dnnl_memory_set_data_handle(t->usrc, (void *)x))
    return -1;
  if (yb) {
    if (dnnl_memory_set_data_handle(t->bdst, y)) return -1;
    dst = t->bdst;
  } else if (dnnl_memory_set_data_handle(t->udst, y))
    return -1;
  if (l->rsrc && !xb) {
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, t->usrc}, {DNNL_ARG_TO, t->src}};
    if (dnnl_primitive_execute(l->rsrc, t->st, 2, a)) return -1;
  }
  dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, src},
                          {DNNL_ARG_WEIGHTS, l->wmem},
                          {DNNL_ARG_DST, dst},
                          {DNNL_ARG_SCRATCHPAD, t->scr},
                          {DNNL_ARG_BIAS, l->bmem}};
  if (dnnl_primitive_execute(l->conv, t->st, l->bmem ? 5 : 4, a)) return -1;
  if (l->rdst && !yb) {
    dnnl_exec_arg_t b[2] = {{DNNL_ARG_FROM, t->dst}, {DNNL_ARG_TO, t->udst}};
    if (dnnl_primitive_execute(l->rdst, t->st, 2, b)) return -1;
  }
  return dnnl_stream_wait(t->st) == dnnl_success ? 0 : -1;
}

int adx_conv_lib_sample(const adx_conv_lib *l, int slot_i, const float *x, float *y) {
  return adx_conv_lib_sample_ex(l, slot_i, x, y, 0, 0);
}

int adx_conv_lib_sample_ex(const adx_conv_lib *l, int slot_i, const float *x, float *y, int x_blocked,
                           int y_blocked) {
  if ((x_blocked && !l->blk_src) || (y_blocked && !l->blk_dst)) return -1;
  /* One thread per sample, always. Called from a team of one thread (a batch smaller than the thread
   * count, e.g. batch 1 at -t 2), OpenMP does not count as "in parallel", and oneDNN would open a nested
   * team of every thread around each reorder and kernel: 100x slower on a shared machine. The setting
   * is the calling task's own, so it is restored for the caller's next region. */
  int saved = omp_get_max_threads();
  if (saved != 1) omp_set_num_threads(1);
  int r = sample_run(l, &l->slots[slot_i], x, y, x_blocked, y_blocked);
  if (saved != 1) omp_set_num_threads(saved);
  return r;
}

/* ---- output crops (adx_conv_lib_sample_band) ---- */

/* Input rows (or columns) an output crop of n positions reads: its windows' extent, and for a strided 1 x 1
 * layer n * stride (oneDNN's 1 x 1 kernel wants the input a whole multiple of the stride, as the full
 * layer's is; the extra row is never read). */
static int crop_extent(int n, int k, int s, int d) {
  int e = (n - 1) * s + (k - 1) * d + 1;
  return k == 1 && n * s > e ? n * s : e;
}

/* Make the primitive for oh x ow output positions; NULL only when out of memory. Called under the
 * critical section below, with OpenMP held at 1 thread by the caller. */
/* The layer's weights in layout md (made on first request, under the crop cache's lock), or NULL. */
static dnnl_memory_t walt_get(adx_conv_lib *l, const dnnl_memory_desc_t *md) {
  for (int i = 0; i < l->nwalt; i++)
    if (dnnl_memory_desc_equal(&l->walt_md[i], md)) return l->walt[i];
  if (l->nwalt == (int)(sizeof l->walt / sizeof l->walt[0])) return NULL;
  const adx_conv_params *p = &l->key;
  dnnl_dims_t wd = {p->M, p->C, p->win.kh, p->win.kw};
  dnnl_memory_desc_t uw;
  dnnl_memory_t src = NULL, dst = NULL;
  dnnl_primitive_t r = NULL;
  dnnl_stream_t st = NULL;
  int ok = !dnnl_memory_desc_init_by_tag(&uw, 4, wd, dnnl_f32, dnnl_oihw) &&
           !dnnl_memory_create(&src, &uw, l->eng, (void *)p->w) &&
           !dnnl_memory_create(&dst, md, l->eng, DNNL_MEMORY_ALLOCATE) &&
           !make_reorder(l->eng, &uw, md, &r) && !dnnl_stream_create(&st, l->eng, dnnl_stream_default_flags);
  if (ok) {
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    ok = !dnnl_primitive_execute(r, st, 2, a) && dnnl_stream_wait(st) == dnnl_success;
  }
  if (st) dnnl_stream_destroy(st);
  if (r) dnnl_primitive_destroy(r);
  if (src) dnnl_memory_destroy(src);
  if (!ok) {
    if (dst) dnnl_memory_destroy(dst);
    return NULL;
  }
  l->walt_md[l->nwalt] = *md;
  l->walt[l->nwalt++] = dst;
  return dst;
}

static band *band_build(const adx_conv_lib *l, int oh, int ow) {
  const adx_conv_params *p = &l->key;
  const adx_window *w = &p->win;
  band *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  const int B = adx_conv_lib_block();
  const dnnl_format_tag_t btag = B == 16 ? dnnl_aBcd16b : dnnl_aBcd8b;
  int ih = crop_extent(oh, w->kh, w->sh, w->dh), iw = crop_extent(ow, w->kw, w->sw, w->dw);
  dnnl_dims_t sd = {1, p->C, ih, iw}, dd = {1, p->M, oh, ow}, bd = {p->M};
  dnnl_dims_t strides = {w->sh, w->sw}, dil = {w->dh - 1, w->dw - 1}, zero = {0, 0};
  dnnl_memory_desc_t smd, dmd, bmd;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_desc_t pd = NULL;
  const char *impl = NULL;
  int bias = !l->raw && p->b;
  int wino = strstr(l->impl, "wino") != NULL;
  dnnl_convolution_desc_t cd;
  if (dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, l->blk_src ? btag : dnnl_nchw) ||
      dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, l->blk_dst ? btag : dnnl_nchw) ||
      (bias && dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x)) ||
      dnnl_primitive_attr_create(&attr) ||
      dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user))
    goto done;
  if (!l->raw) {
    if (dnnl_post_ops_create(&po) || !act_post_ops(&p->act, po) || dnnl_primitive_attr_set_post_ops(attr, po))
      goto done;
  }
  /* the full layer's weights as they are (so its reordered copy serves every crop) and its algorithm */
  if (dnnl_dilated_convolution_forward_desc_init(
          &cd, dnnl_forward_inference, wino ? dnnl_convolution_winograd : dnnl_convolution_direct, &smd,
          &l->w_md, bias ? &bmd : NULL, &dmd, strides, dil, zero, zero) ||
      dnnl_primitive_desc_create(&pd, &cd, attr, l->eng, NULL) ||
      dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) || !impl || strcmp(impl, l->impl) ||
      !dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &l->w_md)) {
    /* A Winograd kernel may block the transformed weights by the crop's spatial size (oneDNN's F(2,3)
     * does): the same kernel with the weights in the crop's own layout, reordered once from the model's.
     * Same transform, same sums per output; the placement guard below checks the bits all the same. */
    if (pd) dnnl_primitive_desc_destroy(pd);
    pd = NULL;
    impl = NULL;
    dnnl_memory_desc_t anyw;
    dnnl_dims_t wd = {p->M, p->C, w->kh, w->kw};
    const dnnl_memory_desc_t *cw;
    if (!wino || p->group != 1 || !p->w ||
        dnnl_memory_desc_init_by_tag(&anyw, 4, wd, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_winograd,
                                                   &smd, &anyw, bias ? &bmd : NULL, &dmd, strides, dil, zero,
                                                   zero) ||
        dnnl_primitive_desc_create(&pd, &cd, attr, l->eng, NULL) ||
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) || !impl || strcmp(impl, l->impl) ||
        !(cw = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)) ||
        !(b->wmem = walt_get((adx_conv_lib *)l, cw)))
      goto done; /* another kernel: this shape is not used */
  }
  {
    size_t np = (size_t)((p->OH + l->align - 1) / l->align) * (size_t)((p->OW + l->align - 1) / l->align);
    if (!(b->placed = malloc(sizeof *b->placed * np))) goto done;
    if ((b->mem = calloc((size_t)l->nslots, sizeof *b->mem))) b->nmem = l->nslots;
    for (size_t i = 0; i < np; i++) atomic_init(&b->placed[i], 0);
  }
  b->src_md = smd;
  b->dst_md = dmd;
  b->scr_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (dnnl_primitive_create(&b->conv, pd)) b->conv = NULL;
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (po) dnnl_post_ops_destroy(po);
  return b;
}

/* Copy rows [r0, r0 + nr) and columns [c0, c0 + nc) of a [C/K][H][W][K] sample (K = 1: NCHW) into a dense
 * [C/K][nr][nc][K] crop; positions outside the sample are 0 (the layer's zero padding). */
static void crop_in(const float *x, int C, int H, int W, int K, int r0, int nr, int c0, int nc, float *out) {
  int lo = c0 < 0 ? -c0 : 0, hi = c0 + nc > W ? W - c0 : nc; /* columns [lo, hi) of the crop are inside */
  if (hi < lo) hi = lo;
  for (int cb = 0; cb < C / K; cb++)
    for (int r = 0; r < nr; r++) {
      float *o = out + ((size_t)cb * (size_t)nr + (size_t)r) * (size_t)nc * (size_t)K;
      int ir = r0 + r;
      if (ir < 0 || ir >= H) {
        memset(o, 0, sizeof(float) * (size_t)nc * (size_t)K);
        continue;
      }
      const float *i =
          x + (((size_t)cb * (size_t)H + (size_t)ir) * (size_t)W + (size_t)(c0 + lo)) * (size_t)K;
      if (lo) memset(o, 0, sizeof(float) * (size_t)lo * (size_t)K);
      memcpy(o + (size_t)lo * (size_t)K, i, sizeof(float) * (size_t)(hi - lo) * (size_t)K);
      if (hi < nc) memset(o + (size_t)hi * (size_t)K, 0, sizeof(float) * (size_t)(nc - hi) * (size_t)K);
    }
}

static float *aligned_floats(size_t n) { /* 64-byte aligned, as oneDNN prefers */
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  return aligned_alloc(64, bytes ? bytes : 64);
}

/* y[at, at + n) = base[at, at + n), or 0 without a base */
static void fill_out(float *y, const float *base, size_t at, size_t n) {
  if (base)
    memcpy(y + at, base + at, sizeof(float) * n);
  else
    memset(y + at, 0, sizeof(float) * n);
}

/* y[j][0..16) = keep[j] ? b[j][0..16) : 0 for n positions: one copy or clear per run of equal keeps (a
 * per-element select compiled to a mix of vector and scalar moves, 7% of an AD query at 50% visible) */
static void keep_copy16(float *restrict y, const float *restrict b, const uint8_t *restrict keep, int n) {
  for (int j = 0; j < n;) {
    int j1 = j + 1, k = keep[j] != 0;
    while (j1 < n && (keep[j1] != 0) == k) j1++;
    if (k)
      memcpy(y + (size_t)j * 16, b + (size_t)j * 16, sizeof(float) * 16 * (size_t)(j1 - j));
    else
      memset(y + (size_t)j * 16, 0, sizeof(float) * 16 * (size_t)(j1 - j));
    j = j1;
  }
}

/* The tile the crops are aligned to: Winograd's output tiles are 4 x 4 (F(4,3)) or 2 x 2 (F(2,3)), and a
 * crop that starts inside a tile would cut the tile's transforms differently from the full layer. */

/* Run the whole layer on x (src layout) into y with a fresh stream; 0 on success. */
static int run_whole(const adx_conv_lib *l, float *x, float *y, float *scr) {
  dnnl_stream_t st = NULL;
  dnnl_memory_t mx = NULL, my = NULL, ms = NULL;
  int ok = !dnnl_stream_create(&st, l->eng, dnnl_stream_default_flags) &&
           !dnnl_memory_create(&mx, &l->src_md, l->eng, x) &&
           !dnnl_memory_create(&my, &l->dst_md, l->eng, y) &&
           !dnnl_memory_create(&ms, &l->scr_md, l->eng, scr);
  if (ok) {
    dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, mx},
                            {DNNL_ARG_WEIGHTS, l->wmem},
                            {DNNL_ARG_DST, my},
                            {DNNL_ARG_SCRATCHPAD, ms},
                            {DNNL_ARG_BIAS, l->bmem}};
    ok = !dnnl_primitive_execute(l->conv, st, l->bmem ? 5 : 4, a) && !dnnl_stream_wait(st);
  }
  if (mx) dnnl_memory_destroy(mx);
  if (my) dnnl_memory_destroy(my);
  if (ms) dnnl_memory_destroy(ms);
  if (st) dnnl_stream_destroy(st);
  return ok ? 0 : -1;
}

/* Whether the layer is local, bit for bit, at the grain of the crops' alignment (l->align): changing
 * one input row (then one input column) leaves every output whose whole tile reads other inputs exactly as
 * it was. Crops and incremental mutants rest on that (oneDNN's direct and Winograd kernels pass; an output
 * of F(4,3) Winograd depends on its whole tile's inputs, adx_conv_lib_tile). Checked once per layer, on
 * random data, under the critical section; the random sample and the layer's output for it are kept in
 * l->ref_x / ref_y for checking crop placements. */
static int layer_local(const adx_conv_lib *l) {
  const adx_conv_params *p = &l->key;
  const adx_window *w = &p->win;
  if ((!l->blk_src && l->rsrc) || (!l->blk_dst && l->rdst)) return 0; /* the layouts crops assume */
  const size_t KX = (size_t)(l->blk_src ? adx_conv_lib_block() : 1),
               KY = (size_t)(l->blk_dst ? adx_conv_lib_block() : 1);
  size_t xs = dnnl_memory_desc_get_size(&l->src_md) / 4, ys = dnnl_memory_desc_get_size(&l->dst_md) / 4;
  float *x = aligned_floats(xs), *y = aligned_floats(ys), *y2 = aligned_floats(ys),
        *scr = aligned_floats(dnnl_memory_desc_get_size(&l->scr_md) / 4 + 1);
  int ok = x && y && y2 && scr;
  uint32_t r = 0x9e3779b9u;
  for (size_t i = 0; ok && i < xs; i++) {
    r = r * 1664525u + 1013904223u;
    x[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
  }
  ok = ok && !run_whole(l, x, y, scr);
  adx_conv_lib *lm = (adx_conv_lib *)l;
  if (ok && (lm->ref_x = aligned_floats(xs)) && (lm->ref_y = aligned_floats(ys))) {
    memcpy(lm->ref_x, x, sizeof(float) * xs);
    memcpy(lm->ref_y, y, sizeof(float) * ys);
  } else
    ok = 0;
  for (int dir = 0; ok && dir < 2; dir++) { /* 0: input row H/2 changed; 1: input column W/2 */
    const int at = dir ? p->W / 2 : p->H / 2, n = dir ? p->OW : p->OH, s = dir ? w->sw : w->sh,
              k = dir ? w->kw : w->kh, d = dir ? w->dw : w->dh, pad = dir ? w->pw0 : w->ph0;
    for (size_t c = 0; c < (size_t)p->C; c++)
      for (size_t i = 0; i < (size_t)(dir ? p->H : p->W); i++) {
        size_t hi = dir ? i : (size_t)at, wi = dir ? (size_t)at : i;
        x[(((c / KX) * (size_t)p->H + hi) * (size_t)p->W + wi) * KX + c % KX] += 1.0f;
      }
    ok = !run_whole(l, x, y2, scr);
    for (int t0 = 0; ok && t0 < n; t0 += l->align) { /* the tile of outputs [t0, t0 + l->align) */
      int t1 = t0 + l->align < n ? t0 + l->align : n;
      int lo = t0 * s - pad, hi = (t1 - 1) * s - pad + (k - 1) * d; /* the inputs it reads */
      if (at >= lo && at <= hi) continue;
      for (size_t cb = 0; ok && cb < (size_t)p->M / KY; cb++)
        for (int o = t0; ok && o < t1; o++)
          for (int q = 0; ok && q < (dir ? p->OH : p->OW); q++) {
            size_t oi = (size_t)(dir ? q : o), oj = (size_t)(dir ? o : q);
            size_t at_y = ((cb * (size_t)p->OH + oi) * (size_t)p->OW + oj) * KY;
            ok = !memcmp(y + at_y, y2 + at_y, sizeof(float) * KY);
          }
    }
    memcpy(y, y2, sizeof(float) * ys); /* the next direction compares against the changed input's run */
  }
  free(x);
  free(y);
  free(y2);
  free(scr);
  return ok;
}

/* Run crop b on the slot's crop buffers (t->bin -> t->bout); 0 on success, -1 on a oneDNN failure. */
static int run_crop(const adx_conv_lib *l, const band *b, const slot *t, int slot_i) {
  dnnl_memory_t ms = NULL, md = NULL, mc = NULL;
  int own = slot_i >= b->nmem, r = -1; /* own: made and destroyed here (a slot added after the band) */
  if (!own && b->mem[slot_i][0]) {
    ms = b->mem[slot_i][0], md = b->mem[slot_i][1], mc = b->mem[slot_i][2];
    if (dnnl_memory_set_data_handle(mc, t->bscr)) return -1; /* the scratchpad may have grown */
  } else if (dnnl_memory_create(&ms, &b->src_md, l->eng, t->bin) ||
             dnnl_memory_create(&md, &b->dst_md, l->eng, t->bout) ||
             dnnl_memory_create(&mc, &b->scr_md, l->eng, t->bscr)) {
    own = 1;
    goto out;
  } else if (!own) {
    b->mem[slot_i][0] = ms, b->mem[slot_i][1] = md, b->mem[slot_i][2] = mc;
  }
  {
    dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, ms},
                            {DNNL_ARG_WEIGHTS, b->wmem ? b->wmem : l->wmem},
                            {DNNL_ARG_DST, md},
                            {DNNL_ARG_SCRATCHPAD, mc},
                            {DNNL_ARG_BIAS, l->bmem}};
    if (!dnnl_primitive_execute(b->conv, t->st, l->bmem ? 5 : 4, a) &&
        dnnl_stream_wait(t->st) == dnnl_success)
      r = 0;
  }
out:
  if (own) {
    if (ms) dnnl_memory_destroy(ms);
    if (md) dnnl_memory_destroy(md);
    if (mc) dnnl_memory_destroy(mc);
  }
  return r;
}

/* adx_conv_lib_sample_band; only = 1 writes the crop's own positions and leaves the rest of y alone */
/* Crop sizes along a dimension of n outputs grow in steps of crop_step(n): at most CROP_SIZES sizes per
 * dimension, so a layer makes at most about CROP_SIZES^2 crop primitives however finely crops are placed,
 * while small maps keep their crops tight. */
#define CROP_SIZES 16

static int crop_step(int n, int align) {
  int s = (n + CROP_SIZES - 1) / CROP_SIZES;
  return (s + align - 1) / align * align;
}

/* [*a, *z) of n positions (a aligned to `align`) widened to a size of a multiple of crop_step, or to one
 * that ends at n: grown to the right, else started further left (still aligned). */
static void quantize(int *a, int *z, int n, int align) {
  const int step = crop_step(n, align);
  int size = (*z - *a + step - 1) / step * step;
  if (size >= n) {
    *a = 0, *z = n;
    return;
  }
  if (*a + size <= n) {
    *z = *a + size;
    return;
  }
  *z = n;
  *a = n - size;
  *a -= *a % align;
}

static int sample_crop(const adx_conv_lib *cl, int slot_i, const float *x, float *y, int x_blocked,
                       int y_blocked, const uint8_t *keep, const float *base, int r0, int r1, int c0, int c1,
                       int only) {
  adx_conv_lib *l = (adx_conv_lib *)cl; /* the crop cache and slot buffers are filled here */
  const adx_conv_params *p = &l->key;
  const adx_window *w = &p->win;
  /* the caller's layout must be the primitive's own on both sides (no reorder around a crop) */
  if ((x_blocked ? !l->blk_src : l->rsrc != NULL) || (y_blocked ? !l->blk_dst : l->rdst != NULL)) return 1;
  r0 -= r0 % l->align;
  c0 -= c0 % l->align;
  r1 = (r1 + l->align - 1) / l->align * l->align;
  c1 = (c1 + l->align - 1) / l->align * l->align;
  if (r1 > p->OH) r1 = p->OH;
  if (c1 > p->OW) c1 = p->OW;
  if (r1 <= r0 || c1 <= c0) return 1;
  if (!only) { /* crop sizes in steps (one primitive per size: a bounded number of them) */
    quantize(&r0, &r1, p->OH, l->align);
    quantize(&c0, &c1, p->OW, l->align);
  }
  int oh = r1 - r0, ow;
  int saved = omp_get_max_threads();
  if (saved != 1) omp_set_num_threads(1);
  if (atomic_load(&l->local) < 0) {
#pragma omp critical(adx_conv_band)
    if (atomic_load(&l->local) < 0) {
      atomic_store(&l->local, layer_local(l));
    }
  }
  if (!atomic_load(&l->local)) {
    if (saved != 1) omp_set_num_threads(saved);
    return 1;
  }
  /* a shape the library would run differently (a narrow Winograd crop takes another weights layout) is
   * widened by whole tiles, to the right and then to the left, while that still saves work */
  band *b = NULL;
  for (;;) {
    ow = c1 - c0;
    if ((size_t)oh * (size_t)ow * 5 > (size_t)p->OH * (size_t)p->OW * 4) { /* not worth the copies */
      b = NULL;
      break;
    }
    _Atomic(band *) *cell = &l->bands[(size_t)(oh - 1) * (size_t)p->OW + (size_t)(ow - 1)];
    b = atomic_load_explicit(cell, memory_order_acquire);
    if (!b) {
#pragma omp critical(adx_conv_band)
      {
        b = atomic_load_explicit(cell, memory_order_acquire);
        if (!b && (b = band_build(l, oh, ow))) atomic_store_explicit(cell, b, memory_order_release);
      }
    }
    if (!b || b->conv) break;
    const int step = only ? l->align : crop_step(p->OW, l->align);
    if (c1 < p->OW)
      c1 = c1 + step < p->OW ? c1 + step : p->OW;
    else if (c0 > 0)
      c0 = c0 >= step ? c0 - step : 0;
    else
      break;
  }
  if (!b && (size_t)oh * (size_t)ow * 5 <= (size_t)p->OH * (size_t)p->OW * 4) {
    if (saved != 1) omp_set_num_threads(saved);
    return -1; /* out of memory */
  }
  int r = 1;
  slot *t = &l->slots[slot_i];
  if (!b || !b->conv) goto out;
  const int KX = x_blocked ? adx_conv_lib_block() : 1, KY = y_blocked ? adx_conv_lib_block() : 1;
  int ih = crop_extent(oh, w->kh, w->sh, w->dh), iw = crop_extent(ow, w->kw, w->sw, w->dw);
  if (!t->bin) { /* the largest crop of this layer: every output position */
    size_t in = (size_t)p->C * (size_t)crop_extent(p->OH, w->kh, w->sh, w->dh) *
                (size_t)crop_extent(p->OW, w->kw, w->sw, w->dw);
    t->bin = aligned_floats(in);
    t->bout = aligned_floats((size_t)p->M * (size_t)p->OH * (size_t)p->OW);
    if (!t->bin || !t->bout) {
      r = -1;
      goto out;
    }
  }
  size_t sb = dnnl_memory_desc_get_size(&b->scr_md);
  if (sb > t->bscr_bytes) {
    free(t->bscr);
    t->bscr_bytes = 0;
    if (!(t->bscr = aligned_floats((sb + sizeof(float) - 1) / sizeof(float)))) {
      r = -1;
      goto out;
    }
    t->bscr_bytes = sb;
  }
  /* the first time a shape is used at a placement: the same bits as the whole layer on the layer's random
   * sample, or no crop there (a kernel's border code may sum in another order than a crop's explicit
   * zeros: oneDNN's AVX2 kernel for dilated layers does) */
  size_t pi = (size_t)(r0 / l->align) * (size_t)((p->OW + l->align - 1) / l->align) + (size_t)(c0 / l->align);
  unsigned char ps = atomic_load(&b->placed[pi]);
  if (!ps) {
    crop_in(l->ref_x, p->C, p->H, p->W, KX, r0 * w->sh - w->ph0, ih, c0 * w->sw - w->pw0, iw, t->bin);
    ps = 2;
    if (!run_crop(l, b, t, slot_i)) {
      ps = 1;
      for (int cb = 0; ps == 1 && cb < p->M / KY; cb++)
        for (int i = 0; ps == 1 && i < oh; i++)
          if (memcmp(t->bout + ((size_t)cb * (size_t)oh + (size_t)i) * (size_t)ow * (size_t)KY,
                     l->ref_y +
                         (((size_t)cb * (size_t)p->OH + (size_t)(r0 + i)) * (size_t)p->OW + (size_t)c0) *
                             (size_t)KY,
                     sizeof(float) * (size_t)ow * (size_t)KY))
            ps = 2;
    }
    atomic_store(&b->placed[pi], ps);
  }
  if (ps != 1) goto out; /* r == 1: the caller runs the whole layer */
  crop_in(x, p->C, p->H, p->W, KX, r0 * w->sh - w->ph0, ih, c0 * w->sw - w->pw0, iw, t->bin);
  r = run_crop(l, b, t, slot_i);
  if (r) goto out;
  /* each output element written once: outside the crop 0 (or the base's value), inside it the crop's
   * (0 where keep says so) */
  const size_t OW = (size_t)p->OW, K = (size_t)KY, row = OW * K;
  for (int cb = 0; cb < p->M / KY; cb++) {
    size_t off = (size_t)cb * (size_t)p->OH * row;
    float *yc = y + off;
    const float *bc = base ? base + off : NULL;
    if (!only) {
      fill_out(yc, bc, 0, (size_t)r0 * row);
      fill_out(yc, bc, (size_t)r1 * row, (size_t)(p->OH - r1) * row);
    }
    for (int i = r0; i < r1; i++) {
      float *yr = yc + (size_t)i * row;
      const float *br = t->bout + ((size_t)cb * (size_t)oh + (size_t)(i - r0)) * (size_t)ow * K;
      if (!only) {
        fill_out(yc, bc, (size_t)i * row, (size_t)c0 * K);
        fill_out(yc, bc, (size_t)i * row + (size_t)c1 * K, (OW - (size_t)c1) * K);
      }
      if (!keep) {
        memcpy(yr + (size_t)c0 * K, br, sizeof(float) * (size_t)ow * K);
        continue;
      }
      const uint8_t *kr = keep + (size_t)i * OW;
      if (K == 16)
        keep_copy16(yr + (size_t)c0 * 16, br, kr + c0, ow);
      else
        for (int j = c0; j < c1; j++)
          for (size_t k = 0; k < K; k++) yr[(size_t)j * K + k] = kr[j] ? br[(size_t)(j - c0) * K + k] : 0.0f;
    }
  }
out:
  if (saved != 1) omp_set_num_threads(saved);
  return r;
}

int adx_conv_lib_sample_band(const adx_conv_lib *cl, int slot_i, const float *x, float *y, int x_blocked,
                             int y_blocked, const uint8_t *keep, const float *base, int r0, int r1, int c0,
                             int c1) {
  return sample_crop(cl, slot_i, x, y, x_blocked, y_blocked, keep, base, r0, r1, c0, c1, 0);
}

int adx_conv_lib_rows_split(const adx_conv_lib *l, int parts, int part, int *r0, int *r1) {
  int tiles = (l->key.OH + l->align - 1) / l->align;
  if (parts > tiles) parts = tiles;
  if (parts < 2 || part >= parts) return 0;
  *r0 = (int)((long)tiles * part / parts) * l->align;
  *r1 = (int)((long)tiles * (part + 1) / parts) * l->align;
  if (*r1 > l->key.OH) *r1 = l->key.OH;
  return 1;
}

int adx_conv_lib_sample_rows(const adx_conv_lib *l, int slot_i, const float *x, float *y, int x_blocked,
                             int y_blocked, int r0, int r1) {
  if (r0 % l->align || (r1 % l->align && r1 != l->key.OH)) return 1;
  return sample_crop(l, slot_i, x, y, x_blocked, y_blocked, NULL, NULL, r0, r1, 0, l->key.OW, 1);
}

int adx_conv_lib_crop_shapes(const adx_conv_lib *l) {
  int c = 0;
  if (!l || !l->bands) return 0;
  for (size_t i = 0; i < (size_t)l->key.OH * (size_t)l->key.OW; i++) {
    band *b = atomic_load(&l->bands[i]);
    c += b && b->conv;
  }
  return c;
}

int adx_conv_lib_tile(const adx_conv_lib *l) {
  /* F(4,3): every output of a 4 x 4 tile is computed from all 6 x 6 inputs of the tile (the transforms'
   * terms cancel only in exact arithmetic). F(2,3)'s transforms give each output from its own window. */
  return l && strstr(l->impl, "wino_4x3") ? 4 : 1;
}
