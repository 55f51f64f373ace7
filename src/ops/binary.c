/* Elementwise binary arithmetic (Add, Sub, Mul, Div, Pow, and PRelu) with numpy broadcasting, float32 and
 * int64 (both operands of one type: Pow's mixed float/integer forms are refused at load). run() reduces every
 * case to rows: a row of one operand against a row or a scalar of the other. The common shapes (same shape,
 * per-channel [C,1,1], trailing vector, scalar) need no index arithmetic per element; anything else walks the
 * output with per-operand strides. A float Add absorbs the Relu that reads it (a ResNet block's residual
 * join): one pass, not two. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "op_util.h"
#include "ops.h"

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_PRELU, OP_COUNT };

/* Row kernels: vv = row op row, vs = row op scalar, sv = scalar op row. */
typedef void (*kern_fn)(const void *a, const void *b, void *o, int64_t n);
typedef struct kernels {
  kern_fn vv, vs, sv;
} kernels;

/* int64 arithmetic wraps (through uint64) instead of overflowing; Div truncates like C. */
#define I_ADD(x, y) ((int64_t)((uint64_t)(x) + (uint64_t)(y)))
#define I_SUB(x, y) ((int64_t)((uint64_t)(x) - (uint64_t)(y)))
#define I_MUL(x, y) ((int64_t)((uint64_t)(x) * (uint64_t)(y)))
#define I_DIV(x, y) ((y) == -1 ? I_SUB(0, x) : (y) == 0 ? 0 : (x) / (y))
/* x^y by squaring, wrapping like I_MUL; a negative y gives the integer part of 1/x^|y| (0 unless |x| = 1) */
static inline int64_t i_pow(int64_t x, int64_t y) {
  if (y < 0) return x == 1 ? 1 : x == -1 ? ((y & 1) ? -1 : 1) : 0;
  uint64_t r = 1, b = (uint64_t)x;
  for (; y; y >>= 1, b *= b)
    if (y & 1) r *= b;
  return (int64_t)r;
}
#define I_POW(x, y) i_pow(x, y)
#define I_PRELU(x, s) ((x) < 0 ? I_MUL(x, s) : (x))
#define F_ADD(x, y) ((x) + (y))
#define F_SUB(x, y) ((x) - (y))
#define F_MUL(x, y) ((x) * (y))
#define F_DIV(x, y) ((x) / (y))
#define F_POW(x, y) powf(x, y)
#define F_PRELU(x, s) ((x) < 0.f ? (s) * (x) : (x))
/* Relu exactly as the Relu operator computes it (activation.c), so that fusing changes no bit */
static inline float relu_f(float v) { return v > 0.f ? v : 0.f; }
#define F_ADD_RELU(x, y) relu_f((x) + (y))

#define DEF_KERNELS(T, name, F)                                                                              \
  static void name##_vv(const void *a_, const void *b_, void *o_, int64_t n) {                               \
    const T *a = a_, *b = b_;                                                                                \
    T *o = o_;                                                                                               \
    for (int64_t i = 0; i < n; i++) o[i] = F(a[i], b[i]);                                                    \
  }                                                                                                          \
  static void name##_vs(const void *a_, const void *b_, void *o_, int64_t n) {                               \
    const T *a = a_;                                                                                         \
    const T b = *(const T *)b_;                                                                              \
    T *o = o_;                                                                                               \
    for (int64_t i = 0; i < n; i++) o[i] = F(a[i], b);                                                       \
  }                                                                                                          \
  static void name##_sv(const void *a_, const void *b_, void *o_, int64_t n) {                               \
    const T a = *(const T *)a_;                                                                              \
    const T *b = b_;                                                                                         \
    T *o = o_;                                                                                               \
    for (int64_t i = 0; i < n; i++) o[i] = F(a, b[i]);                                                       \
  }

DEF_KERNELS(float, add_f, F_ADD)
DEF_KERNELS(float, sub_f, F_SUB)
DEF_KERNELS(float, mul_f, F_MUL)
DEF_KERNELS(float, div_f, F_DIV)
DEF_KERNELS(float, pow_f, F_POW)
DEF_KERNELS(float, prelu_f, F_PRELU)
DEF_KERNELS(float, addrelu_f, F_ADD_RELU)
DEF_KERNELS(int64_t, add_i, I_ADD)
DEF_KERNELS(int64_t, sub_i, I_SUB)
DEF_KERNELS(int64_t, mul_i, I_MUL)
DEF_KERNELS(int64_t, div_i, I_DIV)
DEF_KERNELS(int64_t, pow_i, I_POW)
DEF_KERNELS(int64_t, prelu_i, I_PRELU)

static const kernels kern_f[OP_COUNT] = {
    {add_f_vv, add_f_vs, add_f_sv}, {sub_f_vv, sub_f_vs, sub_f_sv}, {mul_f_vv, mul_f_vs, mul_f_sv},
    {div_f_vv, div_f_vs, div_f_sv}, {pow_f_vv, pow_f_vs, pow_f_sv}, {prelu_f_vv, prelu_f_vs, prelu_f_sv}};
static const kernels kern_i[OP_COUNT] = {
    {add_i_vv, add_i_vs, add_i_sv}, {sub_i_vv, sub_i_vs, sub_i_sv}, {mul_i_vv, mul_i_vs, mul_i_sv},
    {div_i_vv, div_i_vs, div_i_sv}, {pow_i_vv, pow_i_vs, pow_i_sv}, {prelu_i_vv, prelu_i_vs, prelu_i_sv}};
static const kernels kern_add_relu = {addrelu_f_vv, addrelu_f_vs, addrelu_f_sv};

/* An Add's params: whether it has absorbed the Relu reading its output. */
typedef struct add_params {
  int relu;
} add_params;

static int add_has_relu(const adx_node *n) { return n->params && ((const add_params *)n->params)->relu; }

/* Broadcast the shapes of a and b into out (numpy rules). Returns 0, or -1 when incompatible. */
static int broadcast_dims(const adx_value *a, const adx_value *b, int *nd, int64_t *dims) {
  int r = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1) return -1;
    dims[i] = da == 1 ? db : da;
  }
  *nd = r;
  return 0;
}

static adx_status infer_binary(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *a = adx_node_in(g, n, 0), *b = adx_node_in(g, n, 1);
  if (!a || !b) return adx_node_fail(n, err, ADX_ERR_ARG, "needs two inputs");
  if (a->dtype != b->dtype)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "inputs '%s' and '%s' have different element types", a->name,
                         b->name);
  if (a->dtype != ADX_F32 && a->dtype != ADX_I64)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "element type %d is not supported", (int)a->dtype);
  int nd;
  int64_t dims[ADX_MAX_DIMS];
  if (broadcast_dims(a, b, &nd, dims)) {
    char sa[128], sb[128];
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "shapes %s ('%s') and %s ('%s') cannot be broadcast",
                         adx_dims_str(a->dims, a->ndim, sa, sizeof sa), a->name,
                         adx_dims_str(b->dims, b->ndim, sb, sizeof sb), b->name);
  }
  /* The batch stays in dim 0 when a batched operand has the output's full rank and is not broadcast there. */
  int batched = (a->batched && a->ndim == nd && nd > 0 && a->dims[0] == dims[0]) ||
                (b->batched && b->ndim == nd && nd > 0 && b->dims[0] == dims[0]);
  adx_value_set(adx_node_out(g, n, 0), a->dtype, nd, dims, batched);
  return ADX_OK;
}

/* A task plan: `rows` rows of `len` elements; each row split into `split` chunks for threads. */
typedef struct row_plan {
  int64_t rows, len, split;
} row_plan;

static row_plan plan_rows(int64_t rows, int64_t len, int nt) {
  row_plan p = {rows, len, 1};
  if (nt > 1 && rows < 4 * nt) p.split = len >= 4096 ? 4 * nt : 1;
  return p;
}

/* Chunk [*lo, *hi) of task t of a plan. Returns the row. */
static int64_t task_range(const row_plan *p, int64_t t, int64_t *lo, int64_t *hi) {
  int64_t r = t / p->split, c = t % p->split;
  int64_t step = (p->len + p->split - 1) / p->split;
  *lo = c * step;
  *hi = *lo + step < p->len ? *lo + step : p->len;
  if (*lo > p->len) *lo = p->len;
  return r;
}

/* Operand x (aligned to rank r) is the output shape except a contiguous run [d0, d1] where it matches
 * and 1 elsewhere: then it is a vector of `mid` elements repeated over outer x mid x inner. */
static int vector_run(const int64_t *xd, const int64_t *od, int r, int64_t *outer, int64_t *mid,
                      int64_t *inner) {
  int d0 = -1, d1 = -1;
  for (int i = 0; i < r; i++) {
    if (xd[i] != 1) {
      if (d0 < 0) d0 = i;
      d1 = i;
    }
  }
  if (d0 < 0) { /* scalar */
    *outer = adx_ops_prod(od, 0, r);
    *mid = 1;
    *inner = 1;
    return 1;
  }
  for (int i = d0; i <= d1; i++)
    if (xd[i] != od[i]) return 0;
  *outer = adx_ops_prod(od, 0, d0);
  *mid = adx_ops_prod(od, d0, d1 + 1);
  *inner = adx_ops_prod(od, d1 + 1, r);
  return 1;
}

/* Fast path: `full` has the output's shape, `vec` is a vector of `mid` elements repeated over
 * outer x mid x inner (a scalar, or equal shapes, as outer = inner = 1). vec_is_b: vec is the second operand.
 */
static void run_vector(const kernels *k, size_t es, int nt, const char *full, const char *vec, int vec_is_b,
                       int64_t outer, int64_t mid, int64_t inner, char *o) {
  /* inner == 1: rows of `mid` against the whole vector; else rows of `inner` against one element. */
  row_plan p = inner == 1 ? plan_rows(outer, mid, nt) : plan_rows(outer * mid, inner, nt);
  const int64_t ntasks = p.rows * p.split;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t t = 0; t < ntasks; t++) {
    int64_t lo, hi;
    int64_t row = task_range(&p, t, &lo, &hi);
    if (hi <= lo) continue;
    size_t off = (size_t)(row * p.len + lo) * es;
    const char *vp = inner == 1 ? vec + (size_t)lo * es : vec + (size_t)(row % mid) * es;
    if (inner == 1) {
      if (vec_is_b)
        k->vv(full + off, vp, o + off, hi - lo);
      else
        k->vv(vp, full + off, o + off, hi - lo);
    } else {
      if (vec_is_b)
        k->vs(full + off, vp, o + off, hi - lo);
      else
        k->sv(vp, full + off, o + off, hi - lo);
    }
  }
}

/* General broadcast of A (dims ad) and B (dims bd, both aligned to O's rank r): per-operand strides, 0
 * along broadcast dims; rows along the last dim. */
static void run_broadcast(const kernels *k, size_t es, int nt, const adx_tensor *A, const int64_t *ad,
                          const adx_tensor *B, const int64_t *bd, adx_tensor *O) {
  const int r = O->ndim;
  const char *a = A->data, *b = B->data;
  char *o = O->data;
  int64_t as[ADX_MAX_DIMS], bs[ADX_MAX_DIMS], sa = 1, sb = 1;
  for (int i = r - 1; i >= 0; i--) {
    as[i] = ad[i] == 1 ? 0 : sa;
    bs[i] = bd[i] == 1 ? 0 : sb;
    sa *= ad[i];
    sb *= bd[i];
  }
  const int64_t len = O->dims[r - 1], rows = adx_tensor_numel(O) / len;
  row_plan p = plan_rows(rows, len, nt);
  const int64_t ntasks = p.rows * p.split;
  const int64_t *od = O->dims;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t t = 0; t < ntasks; t++) {
    int64_t lo, hi;
    int64_t row = task_range(&p, t, &lo, &hi);
    if (hi <= lo) continue;
    int64_t oa = 0, ob = 0, rem = row;
    for (int i = r - 2; i >= 0; i--) {
      int64_t c = rem % od[i];
      rem /= od[i];
      oa += c * as[i];
      ob += c * bs[i];
    }
    const char *pa = a + (size_t)(oa + lo * as[r - 1]) * es, *pb = b + (size_t)(ob + lo * bs[r - 1]) * es;
    char *po = o + (size_t)(row * len + lo) * es;
    int64_t cnt = hi - lo;
    if (as[r - 1] && bs[r - 1])
      k->vv(pa, pb, po, cnt);
    else if (as[r - 1])
      k->vs(pa, pb, po, cnt);
    else if (bs[r - 1])
      k->sv(pa, pb, po, cnt);
    else { /* both constant along the row: compute one, then replicate */
      k->vv(pa, pb, po, 1);
      for (int64_t i = 1; i < cnt; i++) memcpy(po + (size_t)i * es, po, es);
    }
  }
}

static adx_status run_binary(int op, const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                             adx_op_ctx *ctx, adx_error *err) {
  const adx_tensor *A = in[0], *B = in[1];
  adx_tensor *O = out[0];
  const int isf = O->dtype == ADX_F32;
  const kernels *k = !isf ? &kern_i[op] : op == OP_ADD && add_has_relu(n) ? &kern_add_relu : &kern_f[op];
  const size_t es = adx_dtype_size(O->dtype);
  const int r = O->ndim;
  const int64_t total = adx_tensor_numel(O);
  if (total == 0) return ADX_OK;
  if (!isf && op == OP_DIV) {
    const int64_t *bv = adx_i64(B);
    for (int64_t i = 0, nb = adx_tensor_numel(B); i < nb; i++)
      if (bv[i] == 0) return adx_node_fail(n, err, ADX_ERR_RUNTIME, "integer division by zero");
  }
  int64_t ad[ADX_MAX_DIMS], bd[ADX_MAX_DIMS];
  for (int i = 0; i < r; i++) {
    int ia = i - (r - A->ndim), ib = i - (r - B->ndim);
    ad[i] = ia >= 0 ? A->dims[ia] : 1;
    bd[i] = ib >= 0 ? B->dims[ib] : 1;
  }
  const int nt = adx_ops_threads(ctx, total);
  int64_t outer, mid, inner;
  if (adx_tensor_numel(A) == total && vector_run(bd, O->dims, r, &outer, &mid, &inner))
    run_vector(k, es, nt, A->data, B->data, 1, outer, mid, inner, O->data);
  else if (adx_tensor_numel(B) == total && vector_run(ad, O->dims, r, &outer, &mid, &inner))
    run_vector(k, es, nt, B->data, A->data, 0, outer, mid, inner, O->data);
  else
    run_broadcast(k, es, nt, A, ad, B, bd, O);
  return ADX_OK;
}

/* Add's fusion hook: absorb a Relu reading a float Add's output (the fusion pass offers the only reader). */
static adx_status fuse_add(const adx_graph *g, adx_node *n, const adx_node *next, adx_error *err) {
  if (!next->op_type || strcmp(next->op_type, "Relu") || next->nin != 1 || add_has_relu(n))
    return ADX_ERR_UNSUPPORTED;
  if (!g || g->values[n->out[0]].dtype != ADX_F32) return ADX_ERR_UNSUPPORTED;
  add_params *p = n->params ? n->params : adx_calloc(sizeof *p);
  if (!p) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  p->relu = 1;
  n->params = p;
  return ADX_OK;
}

#define BIN_OP(sym, OPC, onnx, FUSE)                                                                         \
  static adx_status run_##sym(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,        \
                              adx_op_ctx *ctx, adx_error *err) {                                             \
    return run_binary(OPC, n, in, out, ctx, err);                                                            \
  }                                                                                                          \
  const adx_op adx_op_##sym = {.name = onnx,                                                                 \
                               .min_in = 2,                                                                  \
                               .max_in = 2,                                                                  \
                               .min_out = 1,                                                                 \
                               .max_out = 1,                                                                 \
                               .infer = infer_binary,                                                        \
                               .run = run_##sym,                                                             \
                               .flops = adx_ops_out_numel,                                                   \
                               .ad = ADX_AD_COMBINE,                                                         \
                               .fuse = FUSE};

BIN_OP(add, OP_ADD, "Add", fuse_add)
BIN_OP(sub, OP_SUB, "Sub", NULL)
BIN_OP(mul, OP_MUL, "Mul", NULL)
BIN_OP(div, OP_DIV, "Div", NULL)
BIN_OP(pow, OP_POW, "Pow", NULL)
/* PRelu(X, slope): the slope broadcast to X like a second operand (ONNX's unidirectional broadcast) */
BIN_OP(prelu, OP_PRELU, "PRelu", NULL)
