/* Internal: spatial window operators (Conv, MaxPool, AveragePool) -- parameters and per-sample kernels.
 *
 * The kernels work on one sample at a time and are split into independent "tasks" (a group x a tile
 * of output columns x a block of output channels for im2col+sgemm, a group for depthwise). The split
 * depends only on the layer geometry, never on the batch size or the thread count, so a sample's
 * result is bit-identical whatever batch it is in and however many threads run it.
 *
 * AD entry points take an optional sorted list of active output positions (oh*OW+ow): only those are
 * computed, every other position of y is set to 0. active == NULL means all positions and is exactly
 * the plain path; an active list that covers every position is also run as the plain path. */
#ifndef ADX_OPS_CONV_H
#define ADX_OPS_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "adx/ir.h"

/* ---- window geometry (shared by Conv and the pools) ---- */
typedef enum adx_auto_pad {
  ADX_PAD_NOTSET = 0,
  ADX_PAD_SAME_UPPER,
  ADX_PAD_SAME_LOWER,
  ADX_PAD_VALID
} adx_auto_pad;

/* Output size along one axis for input size `in`, kernel k, stride s, dilation d. For auto_pad other
 * than NOTSET, *p0 / *p1 are set (SAME_*: total padding split, the odd one at the end for UPPER, at
 * the start for LOWER; VALID: 0); for NOTSET they are read. ceil_mode (pools only, NOTSET/VALID)
 * rounds up but drops a last window that would start in the end padding (the ONNX/PyTorch rule).
 * Returns the size, or <= 0 when the window does not fit. */
int64_t adx_window_out_size(int64_t in, int k, int s, int d, adx_auto_pad ap, int ceil_mode, int *p0,
                            int *p1);
/* Parse a 2-D window's attributes (kernel_shape, strides, pads [top,left,bottom,right], dilations,
 * auto_pad) of node n for an H x W input. kernel: {kh, kw} from the weights (Conv; kernel_shape must
 * then agree) or NULL (pools: kernel_shape required). Fills *w and the output size; errors name n. */
adx_status adx_window_infer(const adx_node *n, int64_t H, int64_t W, const int64_t *kernel, int ceil_mode,
                            adx_window *w, int64_t *OH, int64_t *OW, adx_error *err);

/* ---- fused post-activation, applied right after the bias ---- */
typedef enum adx_act_kind { ADX_ACT_NONE = 0, ADX_ACT_RELU, ADX_ACT_CLIP, ADX_ACT_LEAKYRELU } adx_act_kind;
typedef struct adx_act {
  adx_act_kind kind;
  float lo, hi; /* CLIP bounds */
  float alpha;  /* LEAKYRELU slope */
} adx_act;

/* ---- Conv ---- */
typedef struct adx_conv_lib adx_conv_lib; /* a layer's oneDNN primitive (conv_lib.c) */
typedef struct adx_conv_params {
  int C, H, W;   /* input channels and spatial size (per sample) */
  int M, OH, OW; /* output channels and spatial size */
  int group;
  int Cg, Mg; /* channels per group, in and out */
  int K;      /* Cg*kh*kw: rows of the im2col panel */
  adx_window win;
  const float *w; /* [M, Cg, kh, kw]: the constant W (refreshed by every infer) */
  const float *b; /* [M] or NULL */
  adx_act act;    /* fused activation: kept across re-infers */
  /* kernel plan (from the geometry only) */
  int depthwise; /* Cg == 1: direct kernel, no sgemm */
  int direct;    /* 1x1, stride 1, no pad: the input is the panel (no packing) */
  int tile;      /* output columns per task */
  int ntiles;    /* ceil(OH*OW / tile) */
  int mblock;    /* output channels per task (within a group) */
  int nmblocks;  /* ceil(Mg / mblock) */
  /* library path, made on first use and kept across re-infers: [0] bias + activation fused, [1] raw sum */
  adx_conv_lib *lib[2];
} adx_conv_params;

/* The parsed parameters of a Conv node (valid after infer), or NULL. */
const adx_conv_params *adx_conv_params_of(const adx_node *n);

/* Record a Relu / Clip / LeakyRelu node `act` as conv's post-activation (the caller then reroutes the
 * graph so conv produces act's output). Clip bounds come from its attributes (opset < 11); a Clip whose
 * bounds are inputs needs adx_conv_fuse_activation_graph. Other operators: ADX_ERR_UNSUPPORTED. */
adx_status adx_conv_fuse_activation(adx_node *conv, const adx_node *act, adx_error *err);
/* Same, reading Clip's min/max inputs (opset >= 11), which must then be constants. */
adx_status adx_conv_fuse_activation_graph(const adx_graph *g, adx_node *conv, const adx_node *act,
                                          adx_error *err);

/* Tasks per sample for `nactive` active positions (nactive < 0: all positions). */
int adx_conv_ntasks(const adx_conv_params *p, int nactive);
/* Floats of scratch one task needs (the same for every task and active list of the layer). */
size_t adx_conv_scratch_floats(const adx_conv_params *p);
/* Run task `task` of one sample: x [C,H,W], y [M,OH,OW]. Tasks of a sample touch disjoint parts of y,
 * so they may run concurrently (each with its own scratch); together they write all of y. */
void adx_conv_run_task(const adx_conv_params *p, const float *x, float *y, const int32_t *active, int nactive,
                       int task, float *scratch);
/* The same, with the sum before the bias multiplied by scale[pos] at every computed output position
 * (NULL: no scaling, exactly adx_conv_run_task): AD's partial renormalisation. */
void adx_conv_run_task_scaled(const adx_conv_params *p, const float *x, float *y, const int32_t *active,
                              int nactive, const float *scale, int task, float *scratch);
/* All tasks of one sample, sequentially (cost proportional to nactive, plus zeroing y). */
void adx_conv_run_sample(const adx_conv_params *p, const float *x, float *y, const int32_t *active,
                         int nactive, float *scratch);

/* Time the conv kernel (tasks over batch x tiles, `threads` OpenMP threads, BLAS at 1 thread) and a
 * plain cblas_sgemm per sample of the same M, N = OH*OW, K (OpenMP over samples), alternating
 * batches of the two for about `seconds` each (so load from other processes hits both alike). Returns the
 * conv GFLOP/s (2*N*M*OH*OW*K per batch) and sets *sgemm_gflops_out; w/b may be NULL (random weights are
 * used). Returns a negative value when out of memory. */
double adx_conv_bench_gflops(const adx_conv_params *p, int batch, int threads, double seconds,
                             double *sgemm_gflops_out);
/* Fill the geometry-dependent fields of p (Cg, Mg, K, plan) from C,H,W,M,group,win; computes OH, OW
 * from win (explicit pads). Returns 0, or -1 when the geometry is invalid. Used by the bench and tests. */
int adx_conv_plan(adx_conv_params *p);

/* ---- Conv through oneDNN (conv_lib.c) ----
 * One primitive per layer for a single sample, made with oneDNN's threading at 1 and run one sample per
 * OpenMP thread, so results do not depend on the batch or the thread count. raw = 1: no bias and no
 * activation (the bare sum). */
/* Make (or remake, when p's geometry, weights or activation changed) *lib, with `threads` thread slots. */
adx_status adx_conv_lib_prepare(adx_conv_lib **lib, const adx_conv_params *p, int raw, int threads,
                                adx_error *err);
/* One sample x [C,H,W] -> y [M,OH,OW] on thread slot `slot`. Returns 0, or -1 on a oneDNN failure. */
int adx_conv_lib_sample(const adx_conv_lib *lib, int slot, const float *x, float *y);
/* The same with either side already in the library's blocked layout (adx_conv_lib_blocked says which
 * sides may be): x_blocked / y_blocked 1 skip the reorder on that side. */
int adx_conv_lib_sample_ex(const adx_conv_lib *lib, int slot, const float *x, float *y, int x_blocked,
                           int y_blocked);
/* Output rows [r0, r1) and columns [c0, c1) only (widened to whole output tiles of the kernel: 4 x 4 for
 * F(4,3) Winograd, 2 x 2 for F(2,3), single positions for direct kernels; and further where the
 * library would run a narrow crop with another kernel or weights layout). Every other output position is
 * set to 0, or to base's value (base: a whole output in y's layout, or NULL); inside the crop the positions
 * where keep [OH*OW] is 0 are set to 0 too (keep NULL: none). AD's deactivated work skipped (keep = the
 * active mask), and incremental mutants (base = the image's own output: outside a crop that holds every
 * changed position and whole Winograd tiles, the layer's output is the base's bit for bit). Each crop shape
 * gets its own primitive, made on first use, of the layer's own kernel and weights (reordered once into the
 * crop's own layout where a Winograd kernel blocks them by the crop's size); the crop's input is
 * copied out with the layer's padding written as zeros, so the crop's outputs are the full layer's bit for
 * bit (tests/ops/test_conv.c). Returns 0; 1 when no crop is used (nothing written: the caller runs the whole
 * sample), which happens for a crop of nearly the whole output, a shape the library runs differently, or a
 * side that would need a reorder; or -1 on a failure. */
int adx_conv_lib_sample_band(const adx_conv_lib *lib, int slot, const float *x, float *y, int x_blocked,
                             int y_blocked, const uint8_t *keep, const float *base, int r0, int r1, int c0,
                             int c1);
/* Rows of one sample split across threads (a batch smaller than the thread count): part `part` of `parts`
 * row bands of whole output tiles (the crops' alignment). Returns 1 and sets [*r0, *r1), or 0 when the layer
 * has fewer tiles than parts or part is past the last band. */
int adx_conv_lib_rows_split(const adx_conv_lib *lib, int parts, int part, int *r0, int *r1);
/* Output rows [r0, r1) (from adx_conv_lib_rows_split), every column, of one sample whose sides are in the
 * primitive's own layouts (as adx_conv_lib_sample_band requires); the rest of y is left alone. The same crop
 * primitives and guards as adx_conv_lib_sample_band, so the rows are the whole layer's bits. Returns 0, 1
 * when no crop is used (nothing written), or -1 on a failure. */
int adx_conv_lib_sample_rows(const adx_conv_lib *lib, int slot, const float *x, float *y, int x_blocked,
                             int y_blocked, int r0, int r1);
/* The output tile of the layer's kernel whose outputs all depend on the whole tile's inputs, bit for bit
 * (4 for oneDNN's F(4,3) Winograd, else 1: each output from its own window). */
int adx_conv_lib_tile(const adx_conv_lib *lib);
/* How many crop shapes of this layer have a usable primitive so far (NULL: 0). */
int adx_conv_lib_crop_shapes(const adx_conv_lib *lib);
/* Whether the layer's primitive reads (*src) and writes (*dst) the blocked layout nChw<B>c, B =
 * adx_conv_lib_block(): only then may adx_conv_lib_sample_ex skip that side's reorder. */
void adx_conv_lib_blocked(const adx_conv_lib *lib, int *src, int *dst);
/* Channels per block of the activation layout the library's kernels use on this CPU: 16 (AVX-512) or 8. */
int adx_conv_lib_block(void);
void adx_conv_lib_free(adx_conv_lib *lib);
/* oneDNN's name for the kernel it chose ("brgconv:avx512_core", ...). */
const char *adx_conv_lib_impl(const adx_conv_lib *lib);
/* The library flavour of a Conv node, made ready for `threads` threads; an error names the node when
 * oneDNN cannot run it. */
adx_status adx_conv_lib_of(const adx_node *n, int raw, int threads, const adx_conv_lib **out, adx_error *err);
/* Set every output position of y [M,OH,OW] where keep [OH,OW] is 0 to 0 (the others stay as they are). */
void adx_conv_keep_mask(const adx_conv_params *p, float *y, const uint8_t *keep);
/* After a raw sum of one sample: y = act(scale[pos] * y + b) at the listed positions (active NULL: all),
 * every other position 0. scale NULL: 1. */
void adx_conv_finish(const adx_conv_params *p, float *y, const int32_t *active, int nactive,
                     const float *scale);

/* ---- pooling ---- */
typedef struct adx_pool_params {
  int is_max;
  int count_include_pad; /* AveragePool */
  int C, H, W, OH, OW;
  adx_window win;
} adx_pool_params;

/* Parsed parameters of a MaxPool / AveragePool node (valid after infer), or NULL. */
const adx_pool_params *adx_pool_params_of(const adx_node *n);
/* One sample: x [C,H,W] -> y [C,OH,OW]. Pooling is cheap, so the active path computes each active
 * position with the same per-position code as the full path (bit-identical to it) and zeroes the rest. */
void adx_maxpool_run_sample(const adx_pool_params *p, const float *x, float *y, const int32_t *active,
                            int nactive);
void adx_avgpool_run_sample(const adx_pool_params *p, const float *x, float *y, const int32_t *active,
                            int nactive);
/* One channel plane (either pool kind, from p->is_max). */
void adx_pool_run_plane(const adx_pool_params *p, const float *x, float *y, const int32_t *active,
                        int nactive);
/* One channel plane with the input positions where m_in == 0 left out (AD: absent): MaxPool takes the
 * maximum of the rest (0 when nothing is left), AveragePool divides by the count without them. Output
 * positions where m_out == 0 are set to 0 (m_out NULL: none). A window with nothing left out gives
 * exactly adx_pool_run_plane's value. */
void adx_pool_run_plane_masked(const adx_pool_params *p, const float *x, const uint8_t *m_in, float *y,
                               const uint8_t *m_out);
/* adx_pool_run_plane_masked on one block of B (1..64) channels in nChw<B>c layout: x is the block's
 * [H*W][B] input, y its [OH*OW][B] output; the masks are per position. The same bits per channel. */
void adx_pool_run_blocked_masked(const adx_pool_params *p, const float *x, int B, const uint8_t *m_in,
                                 float *y, const uint8_t *m_out);

#endif
