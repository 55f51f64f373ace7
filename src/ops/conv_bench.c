/* Conv micro-benchmark against a same-run SGEMM reference (used by `adx bench`). */
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "adx/bench.h"
#include "conv.h"

/* Deterministic fill in [-1, 1). */
static void fill(float *a, size_t n, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    a[i] = (float)((double)(s >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
  }
}

static void conv_batch(const adx_conv_params *p, const float *x, float *y, int batch, int threads, float *scr,
                       size_t per) {
  int nt = adx_conv_ntasks(p, -1);
  int64_t total = (int64_t)batch * nt;
  const size_t xs = (size_t)p->C * p->H * p->W, ys = (size_t)p->M * p->OH * p->OW;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t t = 0; t < total; t++) {
    int64_t s = t / nt;
    adx_conv_run_task(p, x + s * xs, y + s * ys, NULL, -1, (int)(t % nt),
                      per ? scr + omp_get_thread_num() * per : NULL);
  }
}

static int lib_batch(const adx_conv_lib *l, const adx_conv_params *p, const float *x, float *y, int batch,
                     int threads) {
  const size_t xs = (size_t)p->C * p->H * p->W, ys = (size_t)p->M * p->OH * p->OW;
  int bad = 0, xb, yb;
  /* in the layouts the engine keeps activations in between layers (the blocked one wherever the layer
   * takes it), so no reorder is timed that the engine would not run; random data is valid in either */
  adx_conv_lib_blocked(l, &xb, &yb);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) reduction(| : bad)
  for (int s = 0; s < batch; s++)
    bad |= adx_conv_lib_sample_ex(l, omp_get_thread_num(), x + s * xs, y + s * ys, xb, yb);
  return bad;
}

static void sgemm_batch(int M, int N, int K, const float *a, const float *b, float *c, int batch,
                        int threads) {
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int s = 0; s < batch; s++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f,
                c + (size_t)s * M * N, N);
}

/* The BLAS path and SGEMM, and (lib_out != NULL) the oneDNN path, alternated. */
static double bench3(const adx_conv_params *p, int batch, int threads, double seconds,
                     double *sgemm_gflops_out, double *lib_out, char *impl, size_t impl_size) {
  if (sgemm_gflops_out) *sgemm_gflops_out = 0;
  if (lib_out) *lib_out = -1;
  if (!p || batch < 1 || !p->K) return -1;
  if (threads < 1) threads = 1;
  adx_threads_set(0); /* BLAS at 1 thread, as in the engine */
  adx_conv_params q = *p;
  const int N = q.OH * q.OW;
  const size_t xs = (size_t)q.C * q.H * q.W, ys = (size_t)q.M * N, wn = (size_t)q.M * q.K;
  const size_t per = adx_conv_scratch_floats(&q);
  float *x = adx_alloc(sizeof(float) * xs * batch), *y = adx_alloc(sizeof(float) * ys * batch);
  float *w = adx_alloc(sizeof(float) * wn), *bias = adx_alloc(sizeof(float) * q.M);
  float *scr = adx_alloc(sizeof(float) * (per ? per : 16) * threads);
  float *bm = adx_alloc(sizeof(float) * (size_t)q.K * N);
  double gf = -1;
  if (!x || !y || !w || !bias || !scr || !bm) goto done;
  fill(x, xs * batch, 1);
  fill(w, wn, 2);
  fill(bias, q.M, 3);
  fill(bm, (size_t)q.K * N, 4);
  if (!q.w) q.w = w;
  if (!q.b) q.b = bias;
  const double flops = 2.0 * batch * (double)q.M * N * q.K;
  adx_conv_lib *lib = NULL;
  q.lib[0] = q.lib[1] = NULL; /* the bench's own primitive, never the node's */
  if (lib_out && adx_conv_lib_prepare(&lib, &q, 0, threads, NULL)) lib_out = NULL;
  if (lib && impl) snprintf(impl, impl_size, "%s", adx_conv_lib_impl(lib));
  if (lib) lib_batch(lib, &q, x, y, batch, threads);
  double tl = 0;

  /* warm up, then alternate the two so that load from other processes hits both alike */
  conv_batch(&q, x, y, batch, threads, scr, per);
  sgemm_batch(q.M, N, q.K, w, bm, y, batch, threads);
  double tc = 0, ts = 0;
  int reps = 0;
  do {
    double t0 = adx_now();
    conv_batch(&q, x, y, batch, threads, scr, per);
    double t1 = adx_now();
    sgemm_batch(q.M, N, q.K, w, bm, y, batch, threads);
    tc += t1 - t0;
    double t2 = adx_now();
    ts += t2 - t1;
    if (lib) {
      lib_batch(lib, &q, x, y, batch, threads);
      tl += adx_now() - t2;
    }
    reps++;
  } while (tc + ts < 2 * seconds);
  gf = flops * reps / tc * 1e-9;
  if (sgemm_gflops_out) *sgemm_gflops_out = flops * reps / ts * 1e-9;
  if (lib && lib_out) *lib_out = flops * reps / tl * 1e-9;
  adx_conv_lib_free(lib);
done:
  adx_free(x);
  adx_free(y);
  adx_free(w);
  adx_free(bias);
  adx_free(scr);
  adx_free(bm);
  return gf;
}

double adx_conv_bench_gflops(const adx_conv_params *p, int batch, int threads, double seconds,
                             double *sgemm_gflops_out) {
  return bench3(p, batch, threads, seconds, sgemm_gflops_out, NULL, NULL, 0);
}

void adx_conv_backend_describe(char *buf, size_t len) {
  const char *cv = getenv("ADX_CONV");
  const dnnl_version_t *v = dnnl_version();
  if (cv && !strcmp(cv, "blas"))
    snprintf(buf, len,
             "im2col + OpenBLAS cblas_sgemm, the reference path (ADX_CONV=blas; oneDNN %d.%d.%d unused)",
             v->major, v->minor, v->patch);
  else if (cv && !strcmp(cv, "dnnl-direct"))
    snprintf(buf, len,
             "oneDNN %d.%d.%d convolution primitive, direct kernels only, chosen at run time for this CPU "
             "(ADX_CONV=dnnl-direct)",
             v->major, v->minor, v->patch);
  else
    snprintf(buf, len,
             "oneDNN %d.%d.%d convolution primitive, kernels chosen at run time for this CPU, Winograd for "
             "3x3 stride-1 layers where it has them (ADX_CONV=%s)",
             v->major, v->minor, v->patch, cv && *cv ? cv : "dnnl, the default");
}

int adx_conv_node_bench(const adx_graph *g, int node, int batch, int threads, double seconds, int lib,
                        adx_conv_timing *t) {
  const adx_conv_params *p = adx_conv_params_of(&g->nodes[node]);
  if (!p) return -1;
  t->gflop = 2.0 * p->M * p->OH * p->OW * (double)p->K * batch / 1e9;
  snprintf(t->shape, sizeof t->shape, "%dx%dx%d->%d (%d,%d,%d)", p->C, p->H, p->W, p->M, p->win.kh, p->win.sh,
           p->group);
  t->sgemm_gflops = 0;
  t->impl[0] = 0;
  double lg = -1;
  t->blas_gflops =
      bench3(p, batch, threads, seconds, &t->sgemm_gflops, lib ? &lg : NULL, t->impl, sizeof t->impl);
  t->adx_gflops = lib ? lg : t->blas_gflops;
  return 0;
}
