/* Gemm (Y = alpha * A' B' + beta * C) and MatMul (numpy matmul, batched and broadcast), on cblas_sgemm.
 * OpenBLAS runs single-threaded inside adx; large products are split across OpenMP threads by rows
 * (or by columns when there are too few rows), and batched MatMul runs one product per thread. */
#include <cblas.h>

#include "op_util.h"
#include "ops.h"

/* Products smaller than this many flops are not worth splitting across threads. */
#define GEMM_PAR_FLOPS 4e6

/* Row-major C[M,N] = alpha * op(A) op(B) + beta * C, split over nt threads. */
static void sgemm_par(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, int nt) {
  if (M == 0 || N == 0) return;
  const enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  if (nt <= 1 || 2.0 * (double)M * (double)N * (double)K < GEMM_PAR_FLOPS) {
    cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C,
                (int)ldc);
    return;
  }
  const int by_rows = M >= 2 * nt || M >= N;
  const int64_t total = by_rows ? M : N, chunk = (total + nt - 1) / nt;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; t++) {
    int64_t lo = (int64_t)t * chunk, hi = lo + chunk < total ? lo + chunk : total;
    if (hi <= lo) continue;
    if (by_rows) {
      const float *a = ta ? A + lo : A + lo * lda;
      cblas_sgemm(CblasRowMajor, TA, TB, (int)(hi - lo), (int)N, (int)K, alpha, a, (int)lda, B, (int)ldb,
                  beta, C + lo * ldc, (int)ldc);
    } else {
      const float *b = tb ? B + lo * ldb : B + lo;
      cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)(hi - lo), (int)K, alpha, A, (int)lda, b, (int)ldb,
                  beta, C + lo, (int)ldc);
    }
  }
}

/* ---------------- Gemm ---------------- */

typedef struct gemm_params {
  float alpha, beta;
  int ta, tb;
  int per_row; /* A's rows are batch samples: compute each with its own call (see run_gemm) */
} gemm_params;

static adx_status infer_gemm(adx_graph *g, adx_node *n, adx_error *err) {
  gemm_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  p->alpha = adx_attr_float(n, "alpha", 1.f);
  p->beta = adx_attr_float(n, "beta", 1.f);
  p->ta = adx_attr_int(n, "transA", 0) != 0;
  p->tb = adx_attr_int(n, "transB", 0) != 0;
  adx_value *a = adx_node_in(g, n, 0), *b = adx_node_in(g, n, 1), *c = adx_node_in(g, n, 2);
  if (!a || !b) return adx_node_fail(n, err, ADX_ERR_ARG, "needs inputs A and B");
  for (int i = 0; i < 3; i++) {
    adx_value *v = adx_node_in(g, n, i);
    if (v && v->dtype != ADX_F32)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' must be float32", v->name);
  }
  if (a->ndim != 2 || b->ndim != 2)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "A '%s' (rank %d) and B '%s' (rank %d) must be matrices",
                         a->name, a->ndim, b->name, b->ndim);
  int64_t M = p->ta ? a->dims[1] : a->dims[0], K = p->ta ? a->dims[0] : a->dims[1];
  int64_t K2 = p->tb ? b->dims[1] : b->dims[0], N = p->tb ? b->dims[0] : b->dims[1];
  if (K != K2)
    return adx_node_fail(n, err, ADX_ERR_SHAPE,
                         "inner dimensions differ: A '%s' gives %lld, B '%s' gives %lld", a->name,
                         (long long)K, b->name, (long long)K2);
  if (c) {
    if (c->ndim > 2) return adx_node_fail(n, err, ADX_ERR_SHAPE, "C '%s' has rank %d > 2", c->name, c->ndim);
    int64_t cm = c->ndim == 2 ? c->dims[0] : 1, cn = c->ndim >= 1 ? c->dims[c->ndim - 1] : 1;
    if ((cm != 1 && cm != M) || (cn != 1 && cn != N)) {
      char s[128];
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "C '%s' %s does not broadcast to [%lld,%lld]", c->name,
                           adx_dims_str(c->dims, c->ndim, s, sizeof s), (long long)M, (long long)N);
    }
  }
  int batched = a->batched && !p->ta;
  p->per_row = batched;
  if (adx_ops_batch_changed(g, a) && p->ta) return adx_ops_fail_batch(g, n, err);
  if (adx_ops_batch_changed(g, b)) return adx_ops_fail_batch(g, n, err);
  if (c && adx_ops_batch_changed(g, c) && !(batched && c->ndim == 2)) return adx_ops_fail_batch(g, n, err);
  int64_t dims[2] = {M, N};
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, 2, dims, batched);
  return ADX_OK;
}

static adx_status run_gemm(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                           adx_op_ctx *ctx, adx_error *err) {
  const gemm_params *p = n->params;
  const adx_tensor *A = in[0], *B = in[1], *C = n->nin > 2 ? in[2] : NULL;
  adx_tensor *Y = out[0];
  const int64_t M = Y->dims[0], N = Y->dims[1], K = p->ta ? A->dims[0] : A->dims[1];
  float *y = adx_f32(Y);
  float beta = 0.f;
  if (C && p->beta != 0.f && adx_tensor_numel(C) > 0) {
    const float *c = adx_f32(C);
    const int64_t cm = C->ndim == 2 ? C->dims[0] : 1, cn = C->ndim >= 1 ? C->dims[C->ndim - 1] : 1;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) y[i * N + j] = c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
    beta = p->beta;
  }
  if (K == 0) { /* empty product: only the bias term remains */
    for (int64_t i = 0; i < M * N; i++) y[i] *= beta;
    return ADX_OK;
  }
  if (p->per_row && M > 1) {
    /* OpenBLAS's last bits for a row depend on M (its kernels and blocking vary with the matrix size), so
     * a sample's logits would depend on the batch it is in. One M=1 call per sample makes every row the
     * same computation whatever the batch: AD's identity property (A1) and rank-count invariance need it.
     * The cost is re-packing B per row, small next to the convolutions before a classifier head. */
    const float *a = adx_f32(A), *b = adx_f32(B);
    const CBLAS_TRANSPOSE TB = p->tb ? CblasTrans : CblasNoTrans;
    int nt = ctx ? ctx->threads : 1;
    if (2.0 * (double)M * (double)N * (double)K < GEMM_PAR_FLOPS) nt = 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < M; i++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, TB, 1, (int)N, (int)K, p->alpha, a + i * A->dims[1],
                  (int)A->dims[1], b, (int)B->dims[1], beta, y + i * N, (int)N);
    return ADX_OK;
  }
  sgemm_par(p->ta, p->tb, M, N, K, p->alpha, adx_f32(A), A->dims[1], adx_f32(B), B->dims[1], beta, y, N,
            ctx ? ctx->threads : 1);
  return ADX_OK;
}

static double flops_gemm(const adx_graph *g, const adx_node *n) {
  const adx_value *a = &g->values[n->in[0]];
  const gemm_params *p = n->params;
  int64_t K = (p && p->ta) ? a->dims[0] : a->dims[1];
  return 2.0 * adx_ops_out_numel(g, n) * (double)K;
}

const adx_op adx_op_gemm = {.name = "Gemm",
                            .min_in = 2,
                            .max_in = 3,
                            .min_out = 1,
                            .max_out = 1,
                            .infer = infer_gemm,
                            .run = run_gemm,
                            .flops = flops_gemm,
                            .ad = ADX_AD_PLAIN};

/* ---------------- MatMul ---------------- */

/* Operand shapes promoted to rank >= 2 (a vector a becomes [1,K], a vector b becomes [K,1]) and the
 * broadcast batch shape of the output. */
typedef struct mm_shape {
  int ra, rb, nb; /* promoted ranks, batch rank */
  int64_t ad[ADX_MAX_DIMS + 1], bd[ADX_MAX_DIMS + 1];
  int64_t bat[ADX_MAX_DIMS]; /* output batch dims */
  int64_t M, K, N;
} mm_shape;

static int mm_shapes(const int64_t *da, int na, const int64_t *db, int nb, mm_shape *s) {
  if (na < 1 || nb < 1) return -1;
  s->ra = na == 1 ? 2 : na;
  s->rb = nb == 1 ? 2 : nb;
  if (na == 1) {
    s->ad[0] = 1;
    s->ad[1] = da[0];
  } else {
    for (int i = 0; i < na; i++) s->ad[i] = da[i];
  }
  if (nb == 1) {
    s->bd[0] = db[0];
    s->bd[1] = 1;
  } else {
    for (int i = 0; i < nb; i++) s->bd[i] = db[i];
  }
  s->M = s->ad[s->ra - 2];
  s->K = s->ad[s->ra - 1];
  s->N = s->bd[s->rb - 1];
  if (s->bd[s->rb - 2] != s->K) return -1;
  int xa = s->ra - 2, xb = s->rb - 2;
  s->nb = xa > xb ? xa : xb;
  for (int i = 0; i < s->nb; i++) {
    int ia = i - (s->nb - xa), ib = i - (s->nb - xb);
    int64_t u = ia >= 0 ? s->ad[ia] : 1, v = ib >= 0 ? s->bd[ib] : 1;
    if (u != v && u != 1 && v != 1) return -1;
    s->bat[i] = u == 1 ? v : u;
  }
  return 0;
}

static adx_status infer_matmul(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *a = adx_node_in(g, n, 0), *b = adx_node_in(g, n, 1);
  if (!a || !b) return adx_node_fail(n, err, ADX_ERR_ARG, "needs two inputs");
  if (a->dtype != ADX_F32 || b->dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "inputs must be float32");
  mm_shape s;
  if (mm_shapes(a->dims, a->ndim, b->dims, b->ndim, &s)) {
    char sa[128], sb[128];
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "cannot multiply %s ('%s') by %s ('%s')",
                         adx_dims_str(a->dims, a->ndim, sa, sizeof sa), a->name,
                         adx_dims_str(b->dims, b->ndim, sb, sizeof sb), b->name);
  }
  int64_t dims[ADX_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < s.nb; i++) dims[nd++] = s.bat[i];
  if (a->ndim > 1) dims[nd++] = s.M;
  if (b->ndim > 1) dims[nd++] = s.N;
  if (nd > ADX_MAX_DIMS) return adx_node_fail(n, err, ADX_ERR_SHAPE, "result rank exceeds %d", ADX_MAX_DIMS);
  /* Dim 0 stays the batch when it is a batched operand's dim 0 and that operand has the output's rank
   * (for a it may be M, for b only a batch dim: b's first matrix dim is contracted). */
  int a_ok = a->batched && a->ndim >= 2 && a->ndim == nd;
  int b_ok = b->batched && b->ndim >= 3 && b->ndim == nd;
  if ((adx_ops_batch_changed(g, a) && !a_ok) || (adx_ops_batch_changed(g, b) && !b_ok))
    return adx_ops_fail_batch(g, n, err);
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, nd, dims, a_ok || b_ok);
  return ADX_OK;
}

static adx_status run_matmul(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                             adx_op_ctx *ctx, adx_error *err) {
  const adx_tensor *A = in[0], *B = in[1];
  mm_shape s;
  if (mm_shapes(A->dims, A->ndim, B->dims, B->ndim, &s))
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "operand shapes changed since inference");
  const float *a = adx_f32(A), *b = adx_f32(B);
  float *y = adx_f32(out[0]);
  const int64_t M = s.M, K = s.K, N = s.N;
  const int nt = ctx ? ctx->threads : 1;
  const int64_t nbatch = adx_ops_prod(s.bat, 0, s.nb);
  if (nbatch == 0 || M == 0 || N == 0) return ADX_OK;
  if (K == 0) {
    memset(y, 0, (size_t)(nbatch * M * N) * sizeof *y);
    return ADX_OK;
  }
  /* b is one matrix: all of a's rows form a single product. */
  if (s.rb == 2) {
    sgemm_par(0, 0, nbatch * M, N, K, 1.f, a, K, b, N, 0.f, y, N, nt);
    return ADX_OK;
  }
  /* Batch strides of each operand within the output batch shape (0 where it broadcasts). */
  int64_t sa[ADX_MAX_DIMS], sb[ADX_MAX_DIMS], ma = M * K, mb = K * N;
  int xa = s.ra - 2, xb = s.rb - 2;
  for (int i = s.nb - 1; i >= 0; i--) {
    int ia = i - (s.nb - xa), ib = i - (s.nb - xb);
    int64_t u = ia >= 0 ? s.ad[ia] : 1, v = ib >= 0 ? s.bd[ib] : 1;
    sa[i] = u == 1 ? 0 : ma;
    sb[i] = v == 1 ? 0 : mb;
    ma *= u;
    mb *= v;
  }
  const int outer_par = nbatch >= nt && nt > 1;
#pragma omp parallel for num_threads(nt) if (outer_par) schedule(static)
  for (int64_t t = 0; t < nbatch; t++) {
    int64_t oa = 0, ob = 0, rem = t;
    for (int i = s.nb - 1; i >= 0; i--) {
      int64_t c = rem % s.bat[i];
      rem /= s.bat[i];
      oa += c * sa[i];
      ob += c * sb[i];
    }
    sgemm_par(0, 0, M, N, K, 1.f, a + oa, K, b + ob, N, 0.f, y + t * M * N, N, outer_par ? 1 : nt);
  }
  return ADX_OK;
}

static double flops_matmul(const adx_graph *g, const adx_node *n) {
  const adx_value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
  mm_shape s;
  if (mm_shapes(a->dims, a->ndim, b->dims, b->ndim, &s)) return 0;
  return 2.0 * (double)s.M * (double)s.N * (double)s.K * (double)adx_ops_prod(s.bat, 0, s.nb);
}

const adx_op adx_op_matmul = {.name = "MatMul",
                              .min_in = 2,
                              .max_in = 2,
                              .min_out = 1,
                              .max_out = 1,
                              .infer = infer_matmul,
                              .run = run_matmul,
                              .flops = flops_matmul,
                              .ad = ADX_AD_PLAIN};
