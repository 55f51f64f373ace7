/* adx bench: throughput of the engine, with same-run references (SGEMM for conv layers). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adx/ad.h"
#include "adx/bench.h"
#include "adx/engine.h"
#include "adx/model.h"
#include "args.h"
#include "cli.h"

enum {
  O_MODEL,
  O_BATCH,
  O_THREADS,
  O_MODE,
  O_VISIBLE,
  O_SECONDS,
  ADX_CLI_AD_IDS,
  O_HIDDEN_BOX,
  O_CPU_TIME,
  O_NO_CONV,
  O_HELP
};
static const adx_opt opts[] = {
    {"model", 'm', 1, "FILE", "ONNX model"},
    {"batch", 'b', 1, "LIST", "batch sizes for whole-model throughput (default 1,16)"},
    {"threads", 't', 1, "LIST", "thread counts (default 1,2)"},
    {"mode", 0, 1, "LIST", "also time mutant queries in these modes, e.g. ad,fill:zero"},
    {"visible", 0, 1, "LIST", "visible fractions for mutant queries (default 0.25,0.5,0.75,1)"},
    {"seconds", 0, 1, "S", "time per measurement (default 1.0)"},
    ADX_CLI_AD_OPTS,
    {"hidden-box", 0, 0, NULL,
     "mutant masks hide one random box of 1 - visible of the image (default: show one)"},
    {"cpu-time", 0, 0, NULL,
     "mutant rates per CPU second of the process, not per wall second (a loaded machine)"},
    {"no-conv", 0, 0, NULL, "skip the per-layer conv/SGEMM table"},
    {"help", 'h', 0, NULL, "show this help"},
    {0}};

static int parse_list(const char *s, double *out, int max) {
  int n = 0;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *tok = strtok(buf, ","); tok && n < max; tok = strtok(NULL, ",")) {
    char *end;
    out[n] = strtod(tok, &end);
    if (end == tok || *end) return -1;
    n++;
  }
  return n;
}

/* A random visible rectangle covering about `frac` of the image, the kind of mask explainers make. */
static void random_rect_mask(adx_rng *r, int H, int W, double frac, uint8_t *m) {
  if (frac >= 1.0) {
    memset(m, 1, (size_t)H * (size_t)W);
    return;
  }
  double aspect = 0.5 + adx_rng_uniform(r); /* h/w in [0.5, 1.5) */
  int h = (int)lround(sqrt(frac * H * W * aspect)), w;
  if (h < 1) h = 1;
  if (h > H) h = H;
  w = (int)lround(frac * H * W / h);
  if (w < 1) w = 1;
  if (w > W) w = W;
  int y0 = (int)adx_rng_below(r, (uint64_t)(H - h + 1)), x0 = (int)adx_rng_below(r, (uint64_t)(W - w + 1));
  memset(m, 0, (size_t)H * (size_t)W);
  for (int y = y0; y < y0 + h; y++) memset(m + (size_t)y * W + x0, 1, (size_t)w);
}

typedef struct bench_ctx {
  adx_graph *g;
  double seconds;
} bench_ctx;

/* Images (or mutants) per second of repeated calls, at least 3 calls and about `seconds`. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* cpu: the rate per CPU second of the process instead of per wall second. */
static adx_status time_runs(adx_engine *e, const adx_mode *mode, const float *raw, const float *src,
                            const uint8_t *masks, int B, double seconds, int cpu, double *rate,
                            adx_error *err) {
  adx_norm norm;
  adx_norm_identity(&norm);
  const adx_tensor *out;
  adx_status s = adx_engine_query(e, mode, &norm, raw, src, masks, B, &out, err); /* warm-up + plan */
  if (s) return s;
  int calls = 0;
  double t0 = adx_now(), c0 = cpu_now(), t;
  do {
    if ((s = adx_engine_query(e, mode, &norm, raw, src, masks, B, &out, err))) return s;
    calls++;
    t = adx_now() - t0;
  } while (t < seconds || calls < 3);
  if (cpu) t = cpu_now() - c0;
  *rate = (double)calls * B / t;
  return ADX_OK;
}

int adx_cmd_bench(int argc, char **argv) {
  adx_error err = {0};
  adx_args a;
  if (adx_args_parse(argc, argv, opts, &a, &err)) return adx_cli_report("bench", &err);
  if (adx_args_help(&a, O_HELP, "bench", "--model M.onnx [options]", opts, NULL)) return 0;
  const char *model = adx_args_last(&a, O_MODEL);
  double batches[8] = {1, 16}, threads[8] = {1, 2}, vis[8] = {0.25, 0.5, 0.75, 1.0}, seconds = 1.0;
  int nb = 2, nt = 2, nv = 4, rc = 0;
  adx_mode modes[8];
  int nmodes = 0;
  adx_ad_opts ado;
  adx_ad_opts_default(&ado);
  const char *v;
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  float *raw = NULL, *src = NULL;
  uint8_t *masks = NULL;
  if (!model) {
    adx_fail(&err, ADX_ERR_ARG, "--model is required");
    goto fail;
  }
  if ((v = adx_args_last(&a, O_BATCH)) && (nb = parse_list(v, batches, 8)) <= 0) {
    adx_fail(&err, ADX_ERR_ARG, "--batch: '%s' is not a list of sizes", v);
    goto fail;
  }
  if ((v = adx_args_last(&a, O_THREADS)) && (nt = parse_list(v, threads, 8)) <= 0) {
    adx_fail(&err, ADX_ERR_ARG, "--threads: '%s' is not a list of counts", v);
    goto fail;
  }
  if ((v = adx_args_last(&a, O_VISIBLE)) && (nv = parse_list(v, vis, 8)) <= 0) {
    adx_fail(&err, ADX_ERR_ARG, "--visible: '%s' is not a list of fractions", v);
    goto fail;
  }
  for (int i = 0; i < nb; i++)
    if (batches[i] < 1 || batches[i] > 4096) {
      adx_fail(&err, ADX_ERR_ARG, "--batch: sizes must be in 1..4096");
      goto fail;
    }
  for (int i = 0; i < nt; i++)
    if (threads[i] < 1 || threads[i] > 1024) {
      adx_fail(&err, ADX_ERR_ARG, "--threads: counts must be in 1..1024");
      goto fail;
    }
  for (int i = 0; i < nv; i++)
    if (!(vis[i] > 0 && vis[i] <= 1)) {
      adx_fail(&err, ADX_ERR_ARG, "--visible: fractions must be in (0, 1]");
      goto fail;
    }
  if ((v = adx_args_last(&a, O_SECONDS)) && adx_arg_double("seconds", v, 0.01, 600, &seconds, &err))
    goto fail;
  adx_cli_ad adf;
  int has_bare = 0;
  for (int k = 0; k < 4; k++) adf.v[k] = adx_args_last(&a, O_AD_RULE + k);
  if (adx_cli_ad_bare(&adf, &ado, &err)) goto fail;
  if ((v = adx_args_last(&a, O_MODE))) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *tok = strtok(buf, ","); tok && nmodes < 8; tok = strtok(NULL, ",")) {
      if (adx_mode_parse_with(tok, &ado, &modes[nmodes], &err)) goto fail;
      has_bare |= !strcmp(tok, "ad");
      nmodes++;
    }
  }
  if (adx_cli_ad_any(&adf) && !has_bare) {
    adx_fail(&err, ADX_ERR_ARG,
             "--ad-rule, --ad-pool, --ad-renorm and --ad-at set what a bare 'ad' mode means, "
             "and --mode has none");
    goto fail;
  }
  if (adx_model_load(model, NULL, &g, &err)) goto fail;
  const adx_value *iv = &g->values[g->inputs[0]];
  if (iv->ndim != 4) {
    adx_fail(&err, ADX_ERR_UNSUPPORTED, "%s: bench needs a 4-D image input", model);
    goto fail;
  }
  int C = (int)iv->dims[1], H = (int)iv->dims[2], W = (int)iv->dims[3];
  size_t chw = (size_t)C * H * W, hw = (size_t)H * W;
  int maxb = 1;
  for (int i = 0; i < nb; i++)
    if ((int)batches[i] > maxb) maxb = (int)batches[i];
  raw = malloc(chw * sizeof(float));
  src = malloc(chw * sizeof(float));
  masks = malloc(hw * (size_t)maxb);
  if (!raw || !src || !masks) {
    adx_fail(&err, ADX_ERR_NOMEM, "out of memory");
    goto fail;
  }
  adx_rng rng;
  adx_rng_seed(&rng, 42);
  for (size_t i = 0; i < chw; i++) raw[i] = (float)adx_rng_uniform(&rng) * 2.0f - 1.0f;
  printf("adx bench: %s  input [N,%d,%d,%d]  %.3f GFLOPs/image\n", model, C, H, W, adx_graph_flops(g) / 1e9);
  printf("micro-batches (samples per pass, ADX_CHUNK=%s):",
         getenv("ADX_CHUNK") ? getenv("ADX_CHUNK") : "auto");
  for (int t = 0; t < nt; t++) {
    if (adx_engine_create(g, (int)threads[t], &e, &err)) goto fail;
    printf(" %d at %d thread(s)%s", adx_engine_chunk(e), (int)threads[t], t + 1 < nt ? "," : "\n");
    adx_engine_free(e);
    e = NULL;
  }

  int lib = adx_conv_backend() == 1;
  if (!adx_args_last(&a, O_NO_CONV)) {
    printf(
        "\nconv layers at batch %d (GFLOP/s; adx = the engine's path (%s), blas = the im2col + cblas_sgemm "
        "reference path, sgemm = cblas_sgemm of the same M,N,K; same run; ratio = adx/sgemm)\n",
        maxb,
        lib ? "oneDNN, in the blocked layout wherever the layer takes it, as the engine keeps activations"
            : "BLAS, ADX_CONV=blas");
    printf("%-28s %-22s %8s", "node", "shape CxHxW->M (k,s,g)", "GFLOPs");
    for (int t = 0; t < nt; t++)
      printf("  adx@%-3d blas@%-3d sgemm@%-3d ratio", (int)threads[t], (int)threads[t], (int)threads[t]);
    printf("  kernel\n");
    double tot_flops = 0, tot_adx[8] = {0}, tot_sg[8] = {0};
    for (int i = 0; i < g->nnodes; i++) {
      const adx_node *n = &g->nodes[i];
      adx_conv_timing ct;
      if (n->dead || adx_conv_node_bench(g, i, maxb, (int)threads[0], seconds / 4, lib, &ct)) continue;
      double fl = ct.gflop * 1e9;
      printf("%-28.28s %-22s %8.3f", n->name, ct.shape, ct.gflop);
      for (int t = 0; t < nt; t++) {
        if (t > 0) adx_conv_node_bench(g, i, maxb, (int)threads[t], seconds / 4, lib, &ct);
        double sg = ct.sgemm_gflops, ad = ct.adx_gflops;
        printf("  %7.1f %8.1f %9.1f %5.2f", ad, ct.blas_gflops, sg, sg > 0 ? ad / sg : 0);
        if (ad > 0) tot_adx[t] += fl / ad;
        if (sg > 0) tot_sg[t] += fl / sg;
      }
      tot_flops += fl;
      printf("  %s\n", ct.impl[0] ? ct.impl : "blas");
    }
    for (int t = 0; t < nt && tot_flops > 0; t++)
      printf("all conv layers, %d thread(s): adx %.1f GFLOP/s, sgemm %.1f GFLOP/s, ratio %.2f\n",
             (int)threads[t], tot_flops / tot_adx[t], tot_flops / tot_sg[t], tot_sg[t] / tot_adx[t]);
  }

  adx_mode plain;
  adx_mode_parse("plain", &plain, &err);
  printf("\nwhole model, plain forward (images/s)\n%-8s", "batch");
  for (int t = 0; t < nt; t++) printf("  threads=%-4d", (int)threads[t]);
  printf("\n");
  for (int bi = 0; bi < nb; bi++) {
    printf("%-8d", (int)batches[bi]);
    for (int t = 0; t < nt; t++) {
      double rate;
      if (adx_engine_create(g, (int)threads[t], &e, &err)) goto fail;
      if (time_runs(e, &plain, raw, src, masks, (int)batches[bi], seconds, 0, &rate, &err)) goto fail;
      adx_engine_free(e);
      e = NULL;
      printf("  %12.1f", rate);
      fflush(stdout);
    }
    printf("\n");
  }

  int hidden_box = adx_args_last(&a, O_HIDDEN_BOX) != NULL, cpu_time = adx_args_last(&a, O_CPU_TIME) != NULL;
  double incr_frac;
  for (int mi = 0; mi < nmodes; mi++) {
    char name[64];
    adx_mode_str(&modes[mi], name, sizeof name);
    if (modes[mi].kind == ADX_MODE_FILL && adx_fill_source(&modes[mi], raw, C, H, W, src, &err)) goto fail;
    printf("\nmutants/%s, mode %s, batch %d, random rectangular %s regions%s\n%-8s", cpu_time ? "CPU s" : "s",
           name, maxb, hidden_box ? "hidden" : "visible",
           (modes[mi].kind == ADX_MODE_FILL ||
            (modes[mi].kind == ADX_MODE_AD && modes[mi].ad.renorm != ADX_RENORM_PARTIAL &&
             adx_conv_backend() == 1)) &&
                   adx_incremental_setting(&incr_frac) == 1
               ? ", incremental"
               : "",
           "visible");
    for (int t = 0; t < nt; t++) printf("  threads=%-4d", (int)threads[t]);
    printf("\n");
    for (int vi = 0; vi < nv; vi++) {
      for (int b = 0; b < maxb; b++) {
        uint8_t *mb = masks + (size_t)b * hw;
        if (hidden_box && vis[vi] >= 1.0) {
          memset(mb, 1, hw);
          continue;
        }
        random_rect_mask(&rng, H, W, hidden_box ? 1.0 - vis[vi] : vis[vi], mb);
        for (size_t i = 0; hidden_box && i < hw; i++) mb[i] = !mb[i];
      }
      printf("%-8.2f", vis[vi]);
      for (int t = 0; t < nt; t++) {
        double rate;
        if (adx_engine_create(g, (int)threads[t], &e, &err)) goto fail;
        if (time_runs(e, &modes[mi], raw, src, masks, maxb, seconds, cpu_time, &rate, &err)) goto fail;
        adx_engine_free(e);
        e = NULL;
        printf("  %12.1f", rate);
        fflush(stdout);
      }
      printf("\n");
    }
  }
  goto done;
fail:
  rc = adx_cli_report("bench", &err);
done:
  adx_engine_free(e);
  adx_graph_free(g);
  free(raw);
  free(src);
  free(masks);
  adx_args_free(&a);
  return rc;
}
