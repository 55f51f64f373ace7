/* adx info MODEL.onnx: what a model is (inputs, outputs, operators, parameters, FLOPs) as adx sees it
 * after loading, i.e. after constant folding and BatchNorm folding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/bench.h"
#include "adx/model.h"
#include "cli.h"

static void usage(FILE *f) {
  fprintf(f, "usage: adx info [--json] MODEL.onnx\n       adx info --build\n\n"
             "Prints the model's inputs and outputs (N = batch), operator counts after constant and\n"
             "BatchNorm folding, parameter count and FLOPs per image.\n\n"
             "  --json     one JSON object instead of text\n"
             "  --build    the CPU features this binary was compiled for (make ARCH=...), and whether\n"
             "             this CPU has them (exit 1 if not); no model needed\n"
             "  --help     this help\n\n"
             "Exit status: 0 ok, 1 run failed, 2 bad input.\n");
}

/* "[N,3,224,224]": dim 0 of a batched value is the batch. */
static void shape_str(const adx_value *v, char *buf, size_t len, int json) {
  size_t k = (size_t)snprintf(buf, len, "[");
  for (int i = 0; i < v->ndim && k < len; i++) {
    const char *sep = i ? "," : "";
    if (i == 0 && v->batched)
      k += (size_t)snprintf(buf + k, len - k, "%s%s", sep, json ? "\"N\"" : "N");
    else
      k += (size_t)snprintf(buf + k, len - k, "%s%lld", sep, (long long)v->dims[i]);
  }
  if (k < len) snprintf(buf + k, len - k, "]");
}

typedef struct op_count {
  const char *name;
  int count;
} op_count;

static int by_count(const void *a, const void *b) {
  const op_count *x = a, *y = b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->name, y->name);
}

/* Live nodes per operator type, most frequent first. Returns the number of distinct types. */
static int count_ops(const adx_graph *g, op_count *ops) {
  int n = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *nd = &g->nodes[i];
    if (nd->dead) continue;
    int k = 0;
    while (k < n && strcmp(ops[k].name, nd->op_type)) k++;
    if (k == n) ops[n++] = (op_count){nd->op_type, 0};
    ops[k].count++;
  }
  qsort(ops, (size_t)n, sizeof *ops, by_count);
  return n;
}

static void print_values(FILE *f, const adx_graph *g, const int *idx, int n, int json) {
  char buf[256];
  for (int i = 0; i < n; i++) {
    const adx_value *v = &g->values[idx[i]];
    shape_str(v, buf, sizeof buf, json);
    if (json) {
      fprintf(f, "%s{\"name\": ", i ? ", " : "");
      adx_cli_json_str(f, v->name);
      fprintf(f, ", \"shape\": %s, \"dtype\": \"%s\"}", buf, v->dtype == ADX_I64 ? "int64" : "float32");
    } else {
      fprintf(f, "  %-24s %s %s\n", v->name, buf, v->dtype == ADX_I64 ? "int64" : "float32");
    }
  }
}

/* adx info --build: what the binary was compiled for, and whether this CPU can run it. */
static int print_build(FILE *f) {
  char feat[512], missing[512];
  adx_build_cpu_features(feat, sizeof feat);
  int n = adx_build_cpu_missing(missing, sizeof missing);
  fprintf(f, "adx %s\nbuilt for:   %s\ncompiler:    %s\n", ADX_VERSION, feat, __VERSION__);
  if (n) {
    fprintf(f, "this CPU:    lacks %s: rebuild with a portable ARCH (docs/cluster.md)\n", missing);
    return 1;
  }
  fprintf(f, "this CPU:    has every feature above\n");
  char conv[256];
  adx_conv_backend_describe(conv, sizeof conv);
  fprintf(f, "convolution: %s\n", conv);
  return 0;
}

int adx_cmd_info(int argc, char **argv) {
  const char *path = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if (!strcmp(argv[i], "--build")) {
      return print_build(stdout);
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "adx info: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    } else if (path) {
      fprintf(stderr, "adx info: more than one model given ('%s', '%s')\n", path, argv[i]);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    fprintf(stderr, "adx info: no model given\n");
    usage(stderr);
    return 2;
  }

  adx_error err = {0};
  adx_graph *g = NULL;
  if (adx_model_load(path, NULL, &g, &err)) return adx_cli_report("info", &err);
  op_count *ops = malloc(sizeof *ops * (size_t)(g->nnodes ? g->nnodes : 1));
  if (!ops) {
    adx_graph_free(g);
    adx_fail(&err, ADX_ERR_NOMEM, "out of memory");
    return adx_cli_report("info", &err);
  }
  int nops = count_ops(g, ops), live = 0;
  for (int i = 0; i < nops; i++) live += ops[i].count;
  int64_t params = adx_graph_params(g);
  double flops = adx_graph_flops(g);

  FILE *f = stdout;
  if (json) {
    fprintf(f, "{\"model\": ");
    adx_cli_json_str(f, path);
    fprintf(f, ", \"producer\": ");
    adx_cli_json_str(f, g->producer);
    fprintf(f, ", \"graph\": ");
    adx_cli_json_str(f, g->name);
    fprintf(f, ", \"opset\": %lld, \"ir_version\": %lld, \"inputs\": [", (long long)g->opset,
            (long long)g->ir_version);
    print_values(f, g, g->inputs, g->ninputs, 1);
    fprintf(f, "], \"outputs\": [");
    print_values(f, g, g->outputs, g->noutputs, 1);
    fprintf(f, "], \"nodes\": %d, \"operators\": {", live);
    for (int i = 0; i < nops; i++) {
      fprintf(f, "%s", i ? ", " : "");
      adx_cli_json_str(f, ops[i].name);
      fprintf(f, ": %d", ops[i].count);
    }
    fprintf(f, "}, \"parameters\": %lld, \"flops_per_image\": %.0f, \"gflops_per_image\": %.6f}\n",
            (long long)params, flops, flops / 1e9);
  } else {
    fprintf(f, "model:       %s\n", path);
    fprintf(f, "producer:    %s\n", g->producer && g->producer[0] ? g->producer : "(unknown)");
    if (g->name && g->name[0]) fprintf(f, "graph:       %s\n", g->name);
    fprintf(f, "opset:       %lld (IR version %lld)\n", (long long)g->opset, (long long)g->ir_version);
    fprintf(f, "inputs:      (N = batch)\n");
    print_values(f, g, g->inputs, g->ninputs, 0);
    fprintf(f, "outputs:\n");
    print_values(f, g, g->outputs, g->noutputs, 0);
    fprintf(f, "operators:   %d nodes after folding\n", live);
    for (int i = 0; i < nops; i++) fprintf(f, "  %-24s %d\n", ops[i].name, ops[i].count);
    fprintf(f, "parameters:  %lld\n", (long long)params);
    fprintf(f, "FLOPs:       %.4f GFLOPs per image (%.0f)\n", flops / 1e9, flops);
    for (int i = 0; i < g->nmeta; i++)
      fprintf(f, "%s %s = %s\n", i ? "            " : "metadata:   ", g->meta[2 * i], g->meta[2 * i + 1]);
  }
  free(ops);
  adx_graph_free(g);
  return 0;
}
