/* Shape and layout operators: Flatten, Reshape, Transpose, Concat, Split, Squeeze, Unsqueeze, Shape,
 * Gather, Slice, Cast, Constant, ConstantOfShape. All work on float32 and int64: exporters emit
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains on int64 that the loader folds at load time.
 *
 * Batch rule: the engine re-infers shapes at other batch sizes than the model's own. An operator that
 * would move, cut or mix dim 0 of a batched value then refuses with ADX_ERR_UNSUPPORTED, rather
 * than silently computing something that depends on how images were grouped into batches. */
#include <math.h>
#include <stdint.h>

#include "op_util.h"
#include "ops.h"

static adx_status oom(const adx_node *n, adx_error *err) {
  return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
}

static adx_status need_input(adx_graph *g, adx_node *n, int i, adx_value **v, adx_error *err) {
  *v = adx_node_in(g, n, i);
  if (!*v) return adx_node_fail(n, err, ADX_ERR_ARG, "missing input %d", i);
  if ((*v)->dtype != ADX_F32 && (*v)->dtype != ADX_I64)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' has an unsupported element type",
                         (*v)->name);
  return ADX_OK;
}

/* The int list given by attribute `attr`, else by constant input `idx`: count, -1 when neither exists;
 * fails when the input exists but is not constant. */
static adx_status ints_attr_or_input(adx_graph *g, adx_node *n, const char *attr, int idx, const int64_t **v,
                                     int *count, adx_error *err) {
  *count = adx_attr_ints(n, attr, v);
  if (*count >= 0) return ADX_OK;
  *count = adx_ops_const_ints(g, n, idx, v);
  if (*count == -2)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' (%s) must be a constant int64 tensor",
                         adx_node_in(g, n, idx)->name, attr);
  return ADX_OK;
}

/* Input 0 and the int list of attribute `attr` or constant input `idx`, which must exist ("no <what>"). */
static adx_status input_and_ints(adx_graph *g, adx_node *n, const char *attr, int idx, const char *what,
                                 adx_value **x, const int64_t **v, int *count, adx_error *err) {
  adx_status s = need_input(g, n, 0, x, err);
  if (!s) s = ints_attr_or_input(g, n, attr, idx, v, count, err);
  if (!s && *count < 0) s = adx_node_fail(n, err, ADX_ERR_ARG, "no %s (input or attribute)", what);
  return s;
}

static adx_status run_copy(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                           adx_op_ctx *ctx, adx_error *err) {
  adx_ops_copy(out[0], in[0]);
  return ADX_OK;
}

static adx_status check_rank(const adx_node *n, int nd, adx_error *err) {
  if (nd > ADX_MAX_DIMS)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "result rank %d exceeds %d", nd, ADX_MAX_DIMS);
  return ADX_OK;
}

#define SHAPE_OP(sym, onnx, nmin, nmax, omax, inf, rn, adkind)                                               \
  const adx_op adx_op_##sym = {.name = onnx,                                                                 \
                               .min_in = nmin,                                                               \
                               .max_in = nmax,                                                               \
                               .min_out = 1,                                                                 \
                               .max_out = omax,                                                              \
                               .infer = inf,                                                                 \
                               .run = rn,                                                                    \
                               .ad = adkind};

/* ---------------- Flatten ---------------- */

static adx_status infer_flatten(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x;
  adx_status s = need_input(g, n, 0, &x, err);
  if (s) return s;
  int r = x->ndim;
  int64_t axis = adx_attr_int(n, "axis", 1);
  if (axis < -r || axis > r)
    return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)axis, r);
  int a = (int)(axis < 0 ? axis + r : axis);
  if (a != 1 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  int64_t dims[2] = {adx_ops_prod(x->dims, 0, a), adx_ops_prod(x->dims, a, r)};
  adx_value_set(adx_node_out(g, n, 0), x->dtype, 2, dims, x->batched && a == 1);
  return ADX_OK;
}

SHAPE_OP(flatten, "Flatten", 1, 1, 1, infer_flatten, run_copy, ADX_AD_PLAIN)

/* ---------------- Reshape ---------------- */

static adx_status infer_reshape(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x;
  const int64_t *t;
  int nt;
  adx_status s = input_and_ints(g, n, "shape", 1, "target shape", &x, &t, &nt, err);
  if (s || (s = check_rank(n, nt, err))) return s;
  const int allowzero = adx_attr_int(n, "allowzero", 0) != 0;
  const int64_t total = adx_value_numel(x);
  int64_t dims[ADX_MAX_DIMS], known = 1;
  int infer_at = -1;
  for (int k = 0; k < nt; k++) {
    int64_t d = t[k];
    /* A target folded at the declared batch (x.view(x.size(0), -1)) follows the batch actually run. */
    if (k == 0 && x->batched && d == g->declared_batch && g->batch != g->declared_batch) d = g->batch;
    if (d == 0 && !allowzero) {
      if (k >= x->ndim)
        return adx_node_fail(n, err, ADX_ERR_SHAPE, "target dim %d is 0 (copy) but the input has rank %d", k,
                             x->ndim);
      d = x->dims[k];
    } else if (d == -1) {
      if (infer_at >= 0) return adx_node_fail(n, err, ADX_ERR_SHAPE, "more than one -1 in the target shape");
      infer_at = k;
      d = 1;
    } else if (d < 0) {
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "invalid target dim %lld", (long long)d);
    }
    dims[k] = d;
    known *= d;
  }
  if (infer_at >= 0) {
    if (known == 0 || total % known)
      return adx_node_fail(n, err, ADX_ERR_SHAPE,
                           "cannot infer the -1 dim: %lld elements into blocks of %lld", (long long)total,
                           (long long)known);
    dims[infer_at] = total / known;
    known *= dims[infer_at];
  }
  if (known != total) {
    char a[128], b[128];
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "cannot reshape %s ('%s') to %s",
                         adx_dims_str(x->dims, x->ndim, a, sizeof a), x->name,
                         adx_dims_str(dims, nt, b, sizeof b));
  }
  int batched = x->batched && nt > 0 && x->ndim > 0 && dims[0] == x->dims[0];
  if (!batched && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  adx_value_set(adx_node_out(g, n, 0), x->dtype, nt, dims, batched);
  return ADX_OK;
}

SHAPE_OP(reshape, "Reshape", 1, 2, 1, infer_reshape, run_copy, ADX_AD_PLAIN)

/* ---------------- Transpose ---------------- */

typedef struct perm_params {
  int perm[ADX_MAX_DIMS];
} perm_params;

static adx_status infer_transpose(adx_graph *g, adx_node *n, adx_error *err) {
  perm_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return oom(n, err);
  adx_value *x;
  adx_status s = need_input(g, n, 0, &x, err);
  if (s) return s;
  const int r = x->ndim;
  const int64_t *pv;
  int np = adx_attr_ints(n, "perm", &pv);
  int seen[ADX_MAX_DIMS] = {0};
  if (np >= 0 && np != r)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "perm has %d entries for an input of rank %d", np, r);
  for (int i = 0; i < r; i++) {
    int a = r - 1 - i;
    if (np >= 0 && adx_ops_axis(pv[i], r, &a))
      return adx_node_fail(n, err, ADX_ERR_ARG, "perm entry %lld is out of range", (long long)pv[i]);
    if (seen[a]++) return adx_node_fail(n, err, ADX_ERR_ARG, "perm repeats axis %d", a);
    p->perm[i] = a;
  }
  if (r > 0 && p->perm[0] != 0 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  int64_t dims[ADX_MAX_DIMS];
  for (int i = 0; i < r; i++) dims[i] = x->dims[p->perm[i]];
  adx_value_set(adx_node_out(g, n, 0), x->dtype, r, dims, x->batched && r > 0 && p->perm[0] == 0);
  return ADX_OK;
}

/* Copy `cnt` elements of size es from src (stride sst elements) to contiguous dst. */
static void gather_row(char *dst, const char *src, int64_t sst, int64_t cnt, size_t es) {
  if (sst == 1) {
    memcpy(dst, src, (size_t)cnt * es);
  } else if (es == 4) {
    uint32_t *d = (uint32_t *)dst;
    const uint32_t *s = (const uint32_t *)src;
    for (int64_t i = 0; i < cnt; i++) d[i] = s[i * sst];
  } else {
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *s = (const uint64_t *)src;
    for (int64_t i = 0; i < cnt; i++) d[i] = s[i * sst];
  }
}

/* out[i0..] = in[base + sum_d i_d * st[d]]: a strided walk over an output of rank r, by rows. */
static void strided_copy(char *out, const char *in, const int64_t *odims, const int64_t *ist, int64_t base,
                         int r, size_t es, adx_op_ctx *ctx) {
  const int64_t total = adx_ops_prod(odims, 0, r);
  if (total == 0) return;
  if (r == 0) {
    memcpy(out, in + base * (int64_t)es, es);
    return;
  }
  const int64_t len = odims[r - 1], rows = total / len;
  const int nt = adx_ops_threads(ctx, total);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t row = 0; row < rows; row++) {
    int64_t off = base, rem = row;
    for (int d = r - 2; d >= 0; d--) {
      off += (rem % odims[d]) * ist[d];
      rem /= odims[d];
    }
    gather_row(out + (size_t)(row * len) * es, in + (size_t)off * es, ist[r - 1], len, es);
  }
}

static adx_status run_transpose(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                                adx_op_ctx *ctx, adx_error *err) {
  const perm_params *p = n->params;
  const adx_tensor *X = in[0];
  const int r = X->ndim;
  int ident = 1;
  for (int i = 0; i < r; i++) ident &= p->perm[i] == i;
  if (ident) {
    adx_ops_copy(out[0], X);
    return ADX_OK;
  }
  /* Merge output dims that stay adjacent in the input (e.g. H,W in a channel shuffle) so that rows
   * are as long as possible. */
  int64_t st[ADX_MAX_DIMS], ist[ADX_MAX_DIMS], od[ADX_MAX_DIMS];
  adx_ops_strides(X->dims, r, st);
  int m = 0;
  for (int i = 0; i < r; i++) {
    if (m > 0 && p->perm[i] == p->perm[i - 1] + 1) {
      od[m - 1] *= X->dims[p->perm[i]];
      ist[m - 1] = st[p->perm[i]];
    } else {
      od[m] = X->dims[p->perm[i]];
      ist[m++] = st[p->perm[i]];
    }
  }
  strided_copy(out[0]->data, X->data, od, ist, 0, m, adx_dtype_size(X->dtype), ctx);
  return ADX_OK;
}

SHAPE_OP(transpose, "Transpose", 1, 1, 1, infer_transpose, run_transpose, ADX_AD_PLAIN)

/* ---------------- Concat ---------------- */

typedef struct axis_params {
  int axis;
} axis_params;

static adx_status infer_concat(adx_graph *g, adx_node *n, adx_error *err) {
  axis_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return oom(n, err);
  adx_value *x0;
  adx_status s = need_input(g, n, 0, &x0, err);
  if (s) return s;
  const adx_attr *aa = adx_attr_get(n, "axis");
  if (!aa || aa->type != ADX_ATTR_INT)
    return adx_node_fail(n, err, ADX_ERR_ARG, "attribute 'axis' is required");
  const int r = x0->ndim;
  if (r == 0) return adx_node_fail(n, err, ADX_ERR_SHAPE, "cannot concatenate scalars");
  if (adx_ops_axis(aa->i, r, &p->axis))
    return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)aa->i, r);
  int64_t dims[ADX_MAX_DIMS];
  for (int d = 0; d < r; d++) dims[d] = x0->dims[d];
  dims[p->axis] = 0;
  int batched = 0;
  for (int i = 0; i < n->nin; i++) {
    adx_value *x;
    if ((s = need_input(g, n, i, &x, err))) return s;
    if (x->dtype != x0->dtype || x->ndim != r)
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "input '%s' differs in element type or rank from '%s'",
                           x->name, x0->name);
    for (int d = 0; d < r; d++) {
      if (d != p->axis && x->dims[d] != x0->dims[d]) {
        char a[128], b[128];
        return adx_node_fail(n, err, ADX_ERR_SHAPE, "input '%s' %s does not match '%s' %s outside axis %d",
                             x->name, adx_dims_str(x->dims, r, a, sizeof a), x0->name,
                             adx_dims_str(x0->dims, r, b, sizeof b), p->axis);
      }
    }
    dims[p->axis] += x->dims[p->axis];
    if (p->axis == 0 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
    batched |= x->batched && p->axis != 0;
  }
  adx_value_set(adx_node_out(g, n, 0), x0->dtype, r, dims, batched);
  return ADX_OK;
}

static adx_status run_concat(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                             adx_op_ctx *ctx, adx_error *err) {
  const axis_params *p = n->params;
  adx_tensor *Y = out[0];
  const size_t es = adx_dtype_size(Y->dtype);
  const int64_t outer = adx_ops_prod(Y->dims, 0, p->axis),
                inner = adx_ops_prod(Y->dims, p->axis + 1, Y->ndim);
  const size_t orow = (size_t)(Y->dims[p->axis] * inner) * es;
  size_t at = 0;
  for (int i = 0; i < n->nin; i++) {
    const size_t row = (size_t)(in[i]->dims[p->axis] * inner) * es;
    const char *src = in[i]->data;
    char *dst = (char *)Y->data + at;
    const int nt = adx_ops_threads(ctx, (int64_t)(outer * row / es));
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t o = 0; o < outer; o++) memcpy(dst + (size_t)o * orow, src + (size_t)o * row, row);
    at += row;
  }
  return ADX_OK;
}

const adx_op adx_op_concat = {.name = "Concat",
                              .min_in = 1,
                              .max_in = 1 << 20,
                              .min_out = 1,
                              .max_out = 1,
                              .infer = infer_concat,
                              .run = run_concat,
                              .ad = ADX_AD_CONCAT};

/* ---------------- Split ---------------- */

typedef struct split_params {
  int axis;
  int n;
  int64_t sizes[]; /* n entries */
} split_params;

static adx_status infer_split(adx_graph *g, adx_node *n, adx_error *err) {
  split_params *p = adx_ops_params(n, sizeof *p + sizeof(int64_t) * (size_t)n->nout);
  if (!p) return oom(n, err);
  adx_value *x;
  adx_status s = need_input(g, n, 0, &x, err);
  if (s) return s;
  const int r = x->ndim;
  int64_t axis = adx_attr_int(n, "axis", 0);
  if (r == 0 || adx_ops_axis(axis, r, &p->axis))
    return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)axis, r);
  if (p->axis == 0 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  p->n = n->nout;
  const int64_t D = x->dims[p->axis];
  const int64_t *sv;
  int ns;
  if ((s = ints_attr_or_input(g, n, "split", 1, &sv, &ns, err))) return s;
  if (ns >= 0) {
    if (ns != n->nout)
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "%d split sizes for %d outputs", ns, n->nout);
    int64_t sum = 0;
    for (int i = 0; i < ns; i++) {
      if (sv[i] < 0)
        return adx_node_fail(n, err, ADX_ERR_SHAPE, "negative split size %lld", (long long)sv[i]);
      p->sizes[i] = sv[i];
      sum += sv[i];
    }
    if (sum != D)
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "split sizes add up to %lld, axis %d has %lld",
                           (long long)sum, p->axis, (long long)D);
  } else {
    /* Equal parts; when they do not divide evenly, the last is smaller (opset 18 num_outputs). */
    int64_t k = n->nout, chunk = (D + k - 1) / k, left = D;
    for (int i = 0; i < n->nout; i++) {
      p->sizes[i] = left < chunk ? left : chunk;
      left -= p->sizes[i];
    }
  }
  for (int i = 0; i < n->nout; i++) {
    if (n->out[i] < 0) continue;
    int64_t dims[ADX_MAX_DIMS];
    for (int d = 0; d < r; d++) dims[d] = x->dims[d];
    dims[p->axis] = p->sizes[i];
    adx_value_set(adx_node_out(g, n, i), x->dtype, r, dims, x->batched && p->axis != 0);
  }
  return ADX_OK;
}

static adx_status run_split(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                            adx_op_ctx *ctx, adx_error *err) {
  const split_params *p = n->params;
  const adx_tensor *X = in[0];
  const size_t es = adx_dtype_size(X->dtype);
  const int64_t outer = adx_ops_prod(X->dims, 0, p->axis),
                inner = adx_ops_prod(X->dims, p->axis + 1, X->ndim);
  const size_t irow = (size_t)(X->dims[p->axis] * inner) * es;
  size_t at = 0;
  for (int i = 0; i < p->n; i++) {
    const size_t row = (size_t)(p->sizes[i] * inner) * es;
    if (out[i]) {
      const char *src = (const char *)X->data + at;
      char *dst = out[i]->data;
      const int nt = adx_ops_threads(ctx, (int64_t)(outer * row / es));
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
      for (int64_t o = 0; o < outer; o++) memcpy(dst + (size_t)o * row, src + (size_t)o * irow, row);
    }
    at += row;
  }
  return ADX_OK;
}

SHAPE_OP(split, "Split", 1, 2, 1 << 20, infer_split, run_split, ADX_AD_PLAIN)

/* ---------------- Squeeze / Unsqueeze ---------------- */

static adx_status infer_squeeze(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x;
  adx_status s = need_input(g, n, 0, &x, err);
  if (s) return s;
  const int64_t *av;
  int na;
  if ((s = ints_attr_or_input(g, n, "axes", 1, &av, &na, err))) return s;
  const int r = x->ndim;
  uint8_t drop[ADX_MAX_DIMS] = {0};
  if (na <= 0) {
    for (int d = 0; d < r; d++) drop[d] = x->dims[d] == 1;
    /* At the model's own batch of 1, dim 0 would have been squeezed: the shape depends on the batch. */
    if (r > 0 && adx_ops_batch_changed(g, x) && g->declared_batch == 1) return adx_ops_fail_batch(g, n, err);
  } else {
    for (int k = 0; k < na; k++) {
      int a;
      if (adx_ops_axis(av[k], r, &a))
        return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)av[k],
                             r);
      if (a == 0 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
      if (x->dims[a] != 1)
        return adx_node_fail(n, err, ADX_ERR_SHAPE, "cannot squeeze axis %d of '%s': its size is %lld", a,
                             x->name, (long long)x->dims[a]);
      drop[a] = 1;
    }
  }
  int64_t dims[ADX_MAX_DIMS];
  int nd = 0;
  for (int d = 0; d < r; d++)
    if (!drop[d]) dims[nd++] = x->dims[d];
  adx_value_set(adx_node_out(g, n, 0), x->dtype, nd, dims, x->batched && r > 0 && !drop[0]);
  return ADX_OK;
}

SHAPE_OP(squeeze, "Squeeze", 1, 2, 1, infer_squeeze, run_copy, ADX_AD_PLAIN)

static adx_status infer_unsqueeze(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x;
  const int64_t *av;
  int na;
  adx_status s = input_and_ints(g, n, "axes", 1, "axes", &x, &av, &na, err);
  if (s) return s;
  const int nd = x->ndim + na;
  if ((s = check_rank(n, nd, err))) return s;
  uint8_t ins[ADX_MAX_DIMS] = {0};
  for (int k = 0; k < na; k++) {
    int a;
    if (adx_ops_axis(av[k], nd, &a))
      return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)av[k],
                           nd);
    if (ins[a]++) return adx_node_fail(n, err, ADX_ERR_ARG, "axis %d is repeated", a);
  }
  if (ins[0] && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  int64_t dims[ADX_MAX_DIMS];
  for (int d = 0, j = 0; d < nd; d++) dims[d] = ins[d] ? 1 : x->dims[j++];
  adx_value_set(adx_node_out(g, n, 0), x->dtype, nd, dims, x->batched && !ins[0]);
  return ADX_OK;
}

SHAPE_OP(unsqueeze, "Unsqueeze", 1, 2, 1, infer_unsqueeze, run_copy, ADX_AD_PLAIN)

/* ---------------- constants: Shape, Constant ---------------- */

/* Make v a constant of the given type and shape. Its storage is reused when the shape is unchanged
 * (the engine may hold views of constants). Returns the data to fill. */
static void *set_const(adx_value *v, adx_dtype dt, int nd, const int64_t *dims, adx_error *err) {
  adx_tensor *c = &v->cval;
  int same = v->is_const && c->data && c->dtype == dt && c->ndim == nd;
  for (int i = 0; same && i < nd; i++) same = c->dims[i] == dims[i];
  if (!same) {
    adx_tensor_free(c);
    if (adx_tensor_alloc(c, dt, nd, dims, err)) return NULL;
  }
  v->is_const = 1;
  adx_value_set(v, dt, nd, dims, 0);
  return c->data;
}

typedef struct shape_params {
  int start, end;
} shape_params;

static adx_status infer_shape(adx_graph *g, adx_node *n, adx_error *err) {
  shape_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return oom(n, err);
  adx_value *x;
  adx_status s = need_input(g, n, 0, &x, err);
  if (s) return s;
  const int r = x->ndim;
  int64_t st = adx_attr_int(n, "start", 0), en = adx_attr_int(n, "end", r);
  if (st < 0) st += r;
  if (en < 0) en += r;
  p->start = (int)(st < 0 ? 0 : st > r ? r : st);
  p->end = (int)(en < 0 ? 0 : en > r ? r : en);
  if (p->end < p->start) p->end = p->start;
  int64_t len = p->end - p->start;
  int64_t *d = set_const(adx_node_out(g, n, 0), ADX_I64, 1, &len, err);
  if (!d) return adx_error_prefix(err, "node '%s' (Shape): ", n->name);
  for (int i = 0; i < len; i++) d[i] = x->dims[p->start + i];
  return ADX_OK;
}

static adx_status run_shape(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                            adx_op_ctx *ctx, adx_error *err) {
  const shape_params *p = n->params;
  int64_t *d = adx_i64(out[0]);
  for (int i = p->start; i < p->end; i++) d[i - p->start] = in[0]->dims[i];
  return ADX_OK;
}

SHAPE_OP(shape, "Shape", 1, 1, 1, infer_shape, run_shape, ADX_AD_PLAIN)

static adx_status infer_constant(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *v = adx_node_out(g, n, 0);
  if (n->nattrs != 1) return adx_node_fail(n, err, ADX_ERR_ARG, "needs exactly one value attribute");
  const adx_attr *a = &n->attrs[0];
  int64_t cnt = a->n;
  void *d;
  if (!strcmp(a->name, "value") && a->type == ADX_ATTR_TENSOR) {
    if (a->t.dtype != ADX_F32 && a->t.dtype != ADX_I64)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "value tensor has an unsupported element type");
    size_t bytes = (size_t)adx_tensor_numel(&a->t) * adx_dtype_size(a->t.dtype);
    if ((d = set_const(v, a->t.dtype, a->t.ndim, a->t.dims, err)) && bytes) memcpy(d, a->t.data, bytes);
  } else if (!strcmp(a->name, "value_float") && (a->type == ADX_ATTR_FLOAT || a->type == ADX_ATTR_INT)) {
    if ((d = set_const(v, ADX_F32, 0, NULL, err)))
      *(float *)d = a->type == ADX_ATTR_FLOAT ? a->f : (float)a->i;
  } else if (!strcmp(a->name, "value_int") && a->type == ADX_ATTR_INT) {
    if ((d = set_const(v, ADX_I64, 0, NULL, err))) *(int64_t *)d = a->i;
  } else if (!strcmp(a->name, "value_floats") && a->type == ADX_ATTR_FLOATS) {
    if ((d = set_const(v, ADX_F32, 1, &cnt, err)) && cnt) memcpy(d, a->floats, sizeof(float) * (size_t)cnt);
  } else if (!strcmp(a->name, "value_ints") && a->type == ADX_ATTR_INTS) {
    if ((d = set_const(v, ADX_I64, 1, &cnt, err)) && cnt) memcpy(d, a->ints, sizeof(int64_t) * (size_t)cnt);
  } else {
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "attribute '%s' is not supported", a->name);
  }
  if (!d) return adx_error_prefix(err, "node '%s' (Constant): ", n->name);
  return ADX_OK;
}

static adx_status run_constant(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                               adx_op_ctx *ctx, adx_error *err) {
  if (n->nattrs == 1) {
    const adx_attr *a = &n->attrs[0];
    size_t bytes = (size_t)adx_tensor_numel(out[0]) * adx_dtype_size(out[0]->dtype);
    if (!bytes) return ADX_OK;
    if (a->type == ADX_ATTR_TENSOR)
      memcpy(out[0]->data, a->t.data, bytes);
    else if (a->type == ADX_ATTR_FLOATS)
      memcpy(out[0]->data, a->floats, bytes);
    else if (a->type == ADX_ATTR_INTS)
      memcpy(out[0]->data, a->ints, bytes);
    else if (out[0]->dtype == ADX_F32)
      adx_f32(out[0])[0] = a->type == ADX_ATTR_FLOAT ? a->f : (float)a->i;
    else
      adx_i64(out[0])[0] = a->i;
    return ADX_OK;
  }
  return adx_node_fail(n, err, ADX_ERR_ARG, "no value attribute");
}

SHAPE_OP(constant, "Constant", 0, 0, 1, infer_constant, run_constant, ADX_AD_PLAIN)

/* ---------------- ConstantOfShape ---------------- */

static adx_status infer_constantofshape(adx_graph *g, adx_node *n, adx_error *err) {
  const int64_t *sv;
  int ns = adx_ops_const_ints(g, n, 0, &sv);
  if (ns < 0)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "the shape input must be a constant int64 tensor");
  adx_status s = check_rank(n, ns, err);
  if (s) return s;
  for (int i = 0; i < ns; i++)
    if (sv[i] < 0) return adx_node_fail(n, err, ADX_ERR_SHAPE, "negative dim %lld", (long long)sv[i]);
  adx_dtype dt = ADX_F32;
  const adx_attr *a = adx_attr_get(n, "value");
  if (a) {
    if (a->type != ADX_ATTR_TENSOR || adx_tensor_numel(&a->t) != 1 ||
        (a->t.dtype != ADX_F32 && a->t.dtype != ADX_I64))
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED,
                           "value must be a one-element float32 or int64 tensor");
    dt = a->t.dtype;
  }
  adx_value_set(adx_node_out(g, n, 0), dt, ns, sv, 0);
  return ADX_OK;
}

static adx_status run_constantofshape(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                                      adx_op_ctx *ctx, adx_error *err) {
  const adx_attr *a = adx_attr_get(n, "value");
  const int64_t cnt = adx_tensor_numel(out[0]);
  if (out[0]->dtype == ADX_F32) {
    const float v = a ? adx_f32(&a->t)[0] : 0.f;
    float *y = adx_f32(out[0]);
    for (int64_t i = 0; i < cnt; i++) y[i] = v;
  } else {
    const int64_t v = a ? adx_i64(&a->t)[0] : 0;
    int64_t *y = adx_i64(out[0]);
    for (int64_t i = 0; i < cnt; i++) y[i] = v;
  }
  return ADX_OK;
}

SHAPE_OP(constantofshape, "ConstantOfShape", 1, 1, 1, infer_constantofshape, run_constantofshape,
         ADX_AD_PLAIN)

/* ---------------- Gather ---------------- */

static adx_status infer_gather(adx_graph *g, adx_node *n, adx_error *err) {
  axis_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return oom(n, err);
  adx_value *x, *idx;
  adx_status s = need_input(g, n, 0, &x, err);
  if (s || (s = need_input(g, n, 1, &idx, err))) return s;
  if (idx->dtype != ADX_I64)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "indices '%s' must be int64", idx->name);
  const int r = x->ndim;
  int64_t axis = adx_attr_int(n, "axis", 0);
  if (r == 0 || adx_ops_axis(axis, r, &p->axis))
    return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)axis, r);
  if (p->axis == 0 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  const int nd = r - 1 + idx->ndim;
  if ((s = check_rank(n, nd, err))) return s;
  const int64_t D = x->dims[p->axis];
  if (idx->is_const) {
    const int64_t *iv = adx_i64(&idx->cval);
    for (int64_t i = 0, ni = adx_tensor_numel(&idx->cval); i < ni; i++)
      if (iv[i] < -D || iv[i] >= D)
        return adx_node_fail(n, err, ADX_ERR_ARG, "index %lld is out of range for axis %d of size %lld",
                             (long long)iv[i], p->axis, (long long)D);
  }
  int64_t dims[ADX_MAX_DIMS];
  int k = 0;
  for (int d = 0; d < p->axis; d++) dims[k++] = x->dims[d];
  for (int d = 0; d < idx->ndim; d++) dims[k++] = idx->dims[d];
  for (int d = p->axis + 1; d < r; d++) dims[k++] = x->dims[d];
  int batched = (x->batched && p->axis != 0) || (p->axis == 0 && idx->batched && idx->ndim > 0);
  adx_value_set(adx_node_out(g, n, 0), x->dtype, nd, dims, batched);
  return ADX_OK;
}

static adx_status run_gather(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                             adx_op_ctx *ctx, adx_error *err) {
  const axis_params *p = n->params;
  const adx_tensor *X = in[0], *I = in[1];
  const size_t es = adx_dtype_size(X->dtype);
  const int64_t outer = adx_ops_prod(X->dims, 0, p->axis), D = X->dims[p->axis];
  const int64_t inner = adx_ops_prod(X->dims, p->axis + 1, X->ndim), ni = adx_tensor_numel(I);
  const int64_t *iv = adx_i64(I);
  for (int64_t j = 0; j < ni; j++)
    if (iv[j] < -D || iv[j] >= D)
      return adx_node_fail(n, err, ADX_ERR_ARG, "index %lld is out of range for axis %d of size %lld",
                           (long long)iv[j], p->axis, (long long)D);
  const size_t row = (size_t)inner * es;
  const char *x = X->data;
  char *y = out[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < ni; j++) {
      int64_t k = iv[j] < 0 ? iv[j] + D : iv[j];
      memcpy(y + (size_t)(o * ni + j) * row, x + (size_t)(o * D + k) * row, row);
    }
  return ADX_OK;
}

SHAPE_OP(gather, "Gather", 2, 2, 1, infer_gather, run_gather, ADX_AD_PLAIN)

/* ---------------- Slice ---------------- */

typedef struct slice_params {
  int64_t start[ADX_MAX_DIMS], step[ADX_MAX_DIMS];
} slice_params;

static adx_status infer_slice(adx_graph *g, adx_node *n, adx_error *err) {
  slice_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return oom(n, err);
  adx_value *x;
  adx_status s = need_input(g, n, 0, &x, err);
  if (s) return s;
  const int r = x->ndim;
  const int64_t *sv, *ev, *av = NULL, *tv = NULL;
  int ns, ne, na, nst = -1;
  if ((s = ints_attr_or_input(g, n, "starts", 1, &sv, &ns, err)) ||
      (s = ints_attr_or_input(g, n, "ends", 2, &ev, &ne, err)) ||
      (s = ints_attr_or_input(g, n, "axes", 3, &av, &na, err)))
    return s;
  if (n->nin > 4 && (nst = adx_ops_const_ints(g, n, 4, &tv)) == -2)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "steps must be a constant int64 tensor");
  if (ns < 0 || ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
    return adx_node_fail(n, err, ADX_ERR_ARG, "starts, ends, axes and steps must have the same length");
  int64_t dims[ADX_MAX_DIMS];
  uint8_t seen[ADX_MAX_DIMS] = {0};
  for (int d = 0; d < r; d++) {
    p->start[d] = 0;
    p->step[d] = 1;
    dims[d] = x->dims[d];
  }
  for (int k = 0; k < ns; k++) {
    int a = k;
    if (na >= 0 && adx_ops_axis(av[k], r, &a))
      return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)av[k], r);
    if (a >= r) return adx_node_fail(n, err, ADX_ERR_ARG, "more starts than input dims");
    if (seen[a]++) return adx_node_fail(n, err, ADX_ERR_ARG, "axis %d is repeated", a);
    const int64_t D = x->dims[a], st = nst >= 0 ? tv[k] : 1;
    if (st == 0) return adx_node_fail(n, err, ADX_ERR_ARG, "step is 0");
    int64_t b = sv[k], e = ev[k], cnt;
    if (b < 0) b += D;
    if (e < 0) e += D;
    if (st > 0) {
      b = b < 0 ? 0 : b > D ? D : b;
      e = e < 0 ? 0 : e > D ? D : e;
      cnt = e > b ? (e - b - 1) / st + 1 : 0;
    } else {
      b = b < 0 ? 0 : b > D - 1 ? D - 1 : b;
      e = e < -1 ? -1 : e > D - 1 ? D - 1 : e;
      int64_t mag = st == INT64_MIN ? INT64_MAX : -st;
      cnt = b > e ? (b - e - 1) / mag + 1 : 0;
    }
    if (D == 0) b = cnt = 0;
    p->start[a] = b;
    p->step[a] = st;
    dims[a] = cnt;
  }
  int touches0 = r > 0 && (p->start[0] != 0 || p->step[0] != 1 || dims[0] != x->dims[0]);
  if (touches0 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  adx_value_set(adx_node_out(g, n, 0), x->dtype, r, dims, x->batched && !touches0);
  return ADX_OK;
}

static adx_status run_slice(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                            adx_op_ctx *ctx, adx_error *err) {
  const slice_params *p = n->params;
  const adx_tensor *X = in[0];
  const int r = X->ndim;
  int64_t st[ADX_MAX_DIMS], ist[ADX_MAX_DIMS], base = 0;
  adx_ops_strides(X->dims, r, st);
  for (int d = 0; d < r; d++) {
    base += p->start[d] * st[d];
    ist[d] = p->step[d] * st[d];
  }
  strided_copy(out[0]->data, X->data, out[0]->dims, ist, base, r, adx_dtype_size(X->dtype), ctx);
  return ADX_OK;
}

SHAPE_OP(slice, "Slice", 1, 5, 1, infer_slice, run_slice, ADX_AD_PLAIN)

/* ---------------- Cast ---------------- */

static adx_status infer_cast(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x;
  adx_status s = need_input(g, n, 0, &x, err);
  if (s) return s;
  int64_t to = adx_attr_int(n, "to", -1);
  if (to != ADX_F32 && to != ADX_I64)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED,
                         "cast to ONNX type %lld (only float32 and int64 are supported)", (long long)to);
  adx_value_set(adx_node_out(g, n, 0), (adx_dtype)to, x->ndim, x->dims, x->batched);
  return ADX_OK;
}

static adx_status run_cast(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                           adx_op_ctx *ctx, adx_error *err) {
  const adx_tensor *X = in[0];
  adx_tensor *Y = out[0];
  const int64_t cnt = adx_tensor_numel(X);
  if (X->dtype == Y->dtype) {
    adx_ops_copy(Y, X);
  } else if (X->dtype == ADX_F32) { /* truncation toward zero, saturating; NaN -> 0 */
    const float *x = adx_f32(X);
    int64_t *y = adx_i64(Y);
    for (int64_t i = 0; i < cnt; i++) {
      float v = x[i];
      y[i] = isnan(v)                ? 0
             : v >= (float)INT64_MAX ? INT64_MAX
             : v <= (float)INT64_MIN ? INT64_MIN
                                     : (int64_t)v;
    }
  } else {
    const int64_t *x = adx_i64(X);
    float *y = adx_f32(Y);
    for (int64_t i = 0; i < cnt; i++) y[i] = (float)x[i];
  }
  return ADX_OK;
}

const adx_op adx_op_cast = {.name = "Cast",
                            .min_in = 1,
                            .max_in = 1,
                            .min_out = 1,
                            .max_out = 1,
                            .infer = infer_cast,
                            .run = run_cast,
                            .flops = adx_ops_out_numel,
                            .ad = ADX_AD_POINTWISE};
