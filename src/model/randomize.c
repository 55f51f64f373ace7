/* Cascading model randomisation (adx/model.h): re-initialise the top layers of a loaded graph. */
#include <math.h>
#include <string.h>

#include "adx/model.h"

static int is_layer(const adx_graph *g, const adx_node *n) {
  if (n->dead || n->nin < 2 || n->in[1] < 0) return 0;
  if (strcmp(n->op_type, "Conv") && strcmp(n->op_type, "Gemm") && strcmp(n->op_type, "MatMul")) return 0;
  const adx_value *w = &g->values[n->in[1]];
  return w->is_const && w->cval.dtype == ADX_F32 && w->cval.data && adx_tensor_numel(&w->cval) > 0;
}

int adx_model_param_layers(const adx_graph *g, int *nodes, int max) {
  int count = 0;
  for (int i = g->nnodes - 1; i >= 0; i--)
    if (is_layer(g, &g->nodes[i])) {
      if (nodes && count < max) nodes[count] = i;
      count++;
    }
  return count;
}

int64_t adx_model_fan_in(const adx_graph *g, int node) {
  const adx_node *n = &g->nodes[node];
  const adx_tensor *w = &g->values[n->in[1]].cval;
  if (!strcmp(n->op_type, "Conv")) {
    int64_t f = 1;
    for (int d = 1; d < w->ndim; d++) f *= w->dims[d];
    return f;
  }
  if (!strcmp(n->op_type, "Gemm"))
    return w->ndim == 2 ? w->dims[adx_attr_int(n, "transB", 0) ? 1 : 0] : w->dims[0];
  return w->ndim >= 2 ? w->dims[w->ndim - 2] : w->dims[0]; /* MatMul: B is [..., K, N] */
}

static void fill(adx_tensor *t, adx_rng *rng, double bound) {
  float *v = adx_f32(t);
  int64_t n = adx_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) v[i] = (float)(bound * (2.0 * adx_rng_uniform(rng) - 1.0));
}

adx_status adx_model_randomize(adx_graph *g, int levels, uint64_t seed, adx_error *err) {
  int total = adx_model_param_layers(g, NULL, 0);
  if (levels < 0 || levels > total)
    return adx_fail(err, ADX_ERR_ARG, "%s: %d layers to randomise, but the model has %d (Conv, Gemm, MatMul)",
                    g->path ? g->path : "model", levels, total);
  int nodes[levels > 0 ? levels : 1];
  adx_model_param_layers(g, nodes, levels);
  for (int j = 0; j < levels; j++) {
    adx_node *n = &g->nodes[nodes[j]];
    int64_t fan_in = adx_model_fan_in(g, nodes[j]);
    double bound = fan_in > 0 ? 1.0 / sqrt((double)fan_in) : 0.0;
    adx_rng rng;
    adx_rng_seed(&rng, adx_seed_mix(seed, 0x5a4e17 + (uint64_t)j));
    fill(&g->values[n->in[1]].cval, &rng, bound);
    int has_bias = strcmp(n->op_type, "MatMul") && n->nin > 2 && n->in[2] >= 0;
    if (has_bias) {
      adx_value *b = &g->values[n->in[2]];
      if (b->is_const && b->cval.dtype == ADX_F32 && b->cval.data) fill(&b->cval, &rng, bound);
    }
  }
  return ADX_OK;
}
