/* Load-time graph passes: shape inference interleaved with constant folding, BatchNorm folding into
 * Conv, Identity/Dropout removal, operator fusion (through each operator's adx_op.fuse hook), dead-node
 * removal. Run once per model by adx_graph_prepare; afterwards the graph only changes shapes
 * (adx_graph_infer on a new batch size). Works on the IR alone: no operator's internals are seen here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ir.h"
#include "adx/model.h"

static int is_op(const adx_node *n, const char *type) { return !n->dead && !strcmp(n->op_type, type); }

static int value_defined_const(const adx_graph *g, int v) { return v < 0 || g->values[v].is_const; }

/* Recompute every value's producer and consumer count from the live nodes. */
static void recount(adx_graph *g) {
  for (int i = 0; i < g->nvalues; i++) {
    g->values[i].producer = -1;
    g->values[i].nconsumers = 0;
  }
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->nout; k++)
      if (n->out[k] >= 0) g->values[n->out[k]].producer = i;
    for (int k = 0; k < n->nin; k++)
      if (n->in[k] >= 0) g->values[n->in[k]].nconsumers++;
  }
}

/* Add a constant value holding a copy of src (or zeros of shape src when zero is set). Returns its index. */
static int add_const(adx_graph *g, const char *base, const char *suffix, const adx_tensor *src, int zero,
                     adx_error *err) {
  char name[512];
  snprintf(name, sizeof name, "%s%s", base, suffix);
  for (int k = 2; adx_graph_find_value(g, name) >= 0; k++)
    snprintf(name, sizeof name, "%s%s%d", base, suffix, k);
  int idx = adx_graph_value(g, name);
  if (idx < 0) {
    adx_fail(err, ADX_ERR_NOMEM, "out of memory adding value '%s'", name);
    return -1;
  }
  adx_value *v = &g->values[idx];
  adx_status s = zero ? adx_tensor_alloc(&v->cval, src->dtype, src->ndim, src->dims, err)
                      : adx_tensor_clone(&v->cval, src, err);
  if (s) return -1;
  adx_value_set(v, src->dtype, src->ndim, src->dims, 0);
  v->is_const = 1;
  return idx;
}

/* A Reshape target whose first element is the model's batch size (torch's x.view(x.size(0), -1), folded
 * to [B, -1], or exported static as [1, -1]) gets 0 there ("copy dim 0"), so it follows the batch. */
static adx_status reshape_follow_batch(adx_graph *g, adx_node *n, adx_error *err) {
  if (n->nin < 2 || n->in[0] < 0 || n->in[1] < 0) return ADX_OK;
  const adx_value *x = &g->values[n->in[0]], *sv = &g->values[n->in[1]];
  if (x->is_const || !x->batched || x->ndim < 1 || !sv->is_const || sv->cval.dtype != ADX_I64 ||
      sv->cval.ndim != 1 || sv->cval.dims[0] < 1 || !sv->cval.data)
    return ADX_OK;
  if (adx_attr_int(n, "allowzero", 0)) return ADX_OK;
  if (adx_i64(&sv->cval)[0] != g->declared_batch || x->dims[0] != g->declared_batch) return ADX_OK;
  int si = n->in[1];
  if (g->values[si].nconsumers > 1 || g->values[si].is_output) { /* shared: rewrite a private copy */
    int c = add_const(g, g->values[si].name, "/batch", &g->values[si].cval, 0, err);
    if (c < 0) return adx_node_fail(n, err, err ? err->code : ADX_ERR_NOMEM, "cannot copy its shape input");
    g->values[si].nconsumers--;
    g->values[c].nconsumers = 1;
    n->in[1] = si = c;
  }
  adx_i64(&g->values[si].cval)[0] = 0;
  return ADX_OK;
}

/* Evaluate a node whose inputs are all constant and store its outputs as constants. */
static adx_status fold_node(adx_graph *g, adx_node *n, adx_error *err) {
  const adx_tensor *in[16];
  adx_tensor *out[16];
  if (n->nin > 16 || n->nout > 16) return ADX_OK; /* too wide to fold here: leave it to the engine */
  for (int k = 0; k < n->nin; k++) in[k] = n->in[k] >= 0 ? &g->values[n->in[k]].cval : NULL;
  adx_tensor res[16];
  memset(res, 0, sizeof res);
  adx_status s = ADX_OK;
  for (int k = 0; k < n->nout && !s; k++) {
    adx_value *v = &g->values[n->out[k]];
    s = adx_tensor_alloc(&res[k], v->dtype, v->ndim, v->dims, err);
    out[k] = &res[k];
  }
  void *scratch = NULL;
  size_t sb = (!s && n->op->scratch) ? n->op->scratch(g, n, 1) : 0;
  if (!s && !(scratch = adx_alloc(sb)))
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory (%zu bytes of scratch)", sb);
  if (!s) {
    adx_op_ctx ctx = {scratch, sb, 1, 0, NULL}; /* constant folding: the reference path */
    s = n->op->run(n, in, out, &ctx, err);
  }
  adx_free(scratch);
  if (s) {
    for (int k = 0; k < n->nout; k++) adx_tensor_free(&res[k]);
    return s;
  }
  for (int k = 0; k < n->nout; k++) {
    adx_value *v = &g->values[n->out[k]];
    adx_tensor_free(&v->cval);
    v->cval = res[k];
    v->is_const = 1;
    v->batched = 0;
  }
  n->dead = 1;
  return ADX_OK;
}

/* Pass 1: infer shapes node by node, folding each node whose inputs are all constant right away
 * (a later node's infer may need the folded value, e.g. Reshape's shape input). */
static adx_status infer_and_fold(adx_graph *g, adx_error *err) {
  g->batch = g->declared_batch;
  for (int i = 0; i < g->ninputs; i++) {
    adx_value *v = &g->values[g->inputs[i]];
    if (v->batched && v->ndim > 0) v->dims[0] = g->batch;
  }
  for (int i = 0; i < g->nnodes; i++) {
    adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (!n->op)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "operator '%s' is not supported", n->op_type);
    adx_status s;
    if (!strcmp(n->op_type, "Reshape") && (s = reshape_follow_batch(g, n, err))) return s;
    n = &g->nodes[i];
    if ((s = n->op->infer(g, n, err)) || (s = adx_graph_check_outputs(g, n, err))) return s;
    int all_in = 1, all_out = 1, feeds_output = 0;
    for (int k = 0; k < n->nin; k++) all_in &= value_defined_const(g, n->in[k]);
    for (int k = 0; k < n->nout; k++) {
      all_out &= g->values[n->out[k]].is_const;
      feeds_output |= g->values[n->out[k]].is_output;
    }
    if (all_out && n->nout > 0)
      n->dead = 1; /* infer computed the outputs (Shape, Constant) */
    else if (all_in && !feeds_output && (s = fold_node(g, n, err)))
      return s;
  }
  return ADX_OK;
}

/* Pass 2: BatchNormalization right after a Conv (whose output nothing else reads) is folded into the
 * Conv's weights and bias: W' = W*s, b' = (b-mean)*s + B with s = scale/sqrt(var+eps) per channel. */
static adx_status fold_batchnorm(adx_graph *g, adx_error *err) {
  recount(g);
  for (int i = 0; i < g->nnodes; i++) {
    adx_node *bn = &g->nodes[i];
    if (!is_op(bn, "BatchNormalization") || bn->nin < 5 || bn->in[0] < 0) continue;
    int extra_used = 0;
    for (int k = 1; k < bn->nout; k++)
      if (bn->out[k] >= 0 && (g->values[bn->out[k]].nconsumers || g->values[bn->out[k]].is_output))
        extra_used = 1;
    const adx_value *x = &g->values[bn->in[0]];
    if (extra_used || x->producer < 0 || x->nconsumers != 1 || x->is_output) continue;
    int ci = x->producer;
    adx_node *conv = &g->nodes[ci];
    if (!is_op(conv, "Conv") || conv->nout != 1 || conv->nin < 2 || conv->in[1] < 0) continue;
    const adx_value *wv = &g->values[conv->in[1]];
    if (!wv->is_const || wv->cval.dtype != ADX_F32 || wv->cval.ndim < 1) continue;
    int64_t M = wv->cval.dims[0];
    int ok = 1;
    for (int k = 1; k <= 4; k++) {
      const adx_value *p = bn->in[k] >= 0 ? &g->values[bn->in[k]] : NULL;
      if (!p || !p->is_const || p->cval.dtype != ADX_F32 || adx_tensor_numel(&p->cval) != M) ok = 0;
    }
    int has_bias = conv->nin >= 3 && conv->in[2] >= 0;
    if (has_bias) {
      const adx_value *b = &g->values[conv->in[2]];
      if (!b->is_const || b->cval.dtype != ADX_F32 || adx_tensor_numel(&b->cval) != M) ok = 0;
    }
    if (!ok || M < 1) continue;

    /* Private copies of W and b when another node shares them; a zero bias when the Conv has none. */
    int wi = conv->in[1];
    if (g->values[wi].nconsumers > 1) {
      if ((wi = add_const(g, g->values[conv->in[1]].name, "/bn", &g->values[conv->in[1]].cval, 0, err)) < 0)
        return adx_node_fail(conv, err, err ? err->code : ADX_ERR_NOMEM,
                             "cannot fold its BatchNormalization");
    }
    int bi;
    if (has_bias && g->values[conv->in[2]].nconsumers == 1)
      bi = conv->in[2];
    else {
      adx_tensor shape = {.dtype = ADX_F32, .ndim = 1, .dims = {M}};
      const adx_tensor *src = has_bias ? &g->values[conv->in[2]].cval : &shape;
      if ((bi = add_const(g, conv->name, "/bias", src, !has_bias, err)) < 0)
        return adx_node_fail(conv, err, err ? err->code : ADX_ERR_NOMEM,
                             "cannot fold its BatchNormalization");
    }
    if (conv->nin < 3) {
      int *in = realloc(conv->in, 3 * sizeof *in);
      if (!in) return adx_node_fail(conv, err, ADX_ERR_NOMEM, "out of memory adding a bias");
      conv->in = in;
      conv->nin = 3;
    }
    conv->in[1] = wi;
    conv->in[2] = bi;

    const float *scale = adx_f32(&g->values[bn->in[1]].cval), *beta = adx_f32(&g->values[bn->in[2]].cval);
    const float *mean = adx_f32(&g->values[bn->in[3]].cval), *var = adx_f32(&g->values[bn->in[4]].cval);
    double eps = adx_attr_float(bn, "epsilon", 1e-5f);
    float *w = adx_f32(&g->values[wi].cval), *b = adx_f32(&g->values[bi].cval);
    int64_t per = adx_tensor_numel(&g->values[wi].cval) / M;
    for (int64_t m = 0; m < M; m++) {
      double s = (double)scale[m] / sqrt((double)var[m] + eps);
      for (int64_t j = 0; j < per; j++) w[m * per + j] = (float)(w[m * per + j] * s);
      b[m] = (float)(((double)b[m] - mean[m]) * s + beta[m]);
    }
    conv->out[0] = bn->out[0]; /* the Conv now produces what the BatchNormalization did */
    bn->dead = 1;
    recount(g);
  }
  return ADX_OK;
}

/* Pass 3: Identity and inference-mode Dropout pass their input through; consumers read it directly.
 * Kept when they produce a graph output, so output names stay as the model declares them. */
static void remove_passthrough(adx_graph *g) {
  recount(g);
  for (int i = 0; i < g->nnodes; i++) {
    adx_node *n = &g->nodes[i];
    if (!(is_op(n, "Identity") || is_op(n, "Dropout")) || n->nin < 1 || n->in[0] < 0 || n->nout < 1) continue;
    int a = n->in[0], b = n->out[0], used = g->values[b].is_output;
    for (int k = 1; k < n->nout; k++) /* Dropout's mask output */
      if (n->out[k] >= 0 && (g->values[n->out[k]].nconsumers || g->values[n->out[k]].is_output)) used = 1;
    if (used) continue;
    for (int j = i + 1; j < g->nnodes; j++) {
      adx_node *m = &g->nodes[j];
      for (int k = 0; k < m->nin; k++)
        if (m->in[k] == b) m->in[k] = a;
    }
    n->dead = 1;
  }
  recount(g);
}

/* Pass 4: nodes none of whose outputs reach a graph output are dead. */
static void mark_unused(adx_graph *g) {
  char *need = calloc((size_t)g->nvalues + 1, 1);
  if (!need) return; /* an optimisation only */
  for (int i = 0; i < g->noutputs; i++) need[g->outputs[i]] = 1;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    int live = 0;
    for (int k = 0; k < n->nout; k++) live |= n->out[k] >= 0 && need[n->out[k]];
    if (!live) {
      n->dead = 1;
      continue;
    }
    for (int k = 0; k < n->nin; k++)
      if (n->in[k] >= 0) need[n->in[k]] = 1;
  }
  free(need);
  recount(g);
}

/* Pass 5: a node whose operator has a fuse hook is offered the only reader of its only output (the first
 * later node taking it as input 0); the operator decides whether it can absorb it (Conv: a Relu, Clip or
 * LeakyRelu). The absorbing node then produces the reader's output and the reader goes. */
static adx_status fuse_nodes(adx_graph *g, adx_error *err) {
  recount(g);
  for (int i = 0; i < g->nnodes; i++) {
    adx_node *n = &g->nodes[i];
    if (n->dead || !n->op || !n->op->fuse || n->nout != 1) continue;
    const adx_value *y = &g->values[n->out[0]];
    if (y->nconsumers != 1 || y->is_output) continue;
    adx_node *next = NULL;
    for (int j = i + 1; j < g->nnodes && !next; j++) {
      adx_node *m = &g->nodes[j];
      if (!m->dead && m->nin >= 1 && m->in[0] == n->out[0]) next = m;
    }
    if (!next || next->nout != 1) continue;
    adx_error e2 = {0};
    adx_status s = n->op->fuse(g, n, next, &e2);
    if (s == ADX_ERR_UNSUPPORTED) continue; /* not absorbable (e.g. Clip with non-constant bounds) */
    if (s) {
      if (err) *err = e2;
      return s;
    }
    n->out[0] = next->out[0];
    next->dead = 1;
    recount(g);
  }
  return ADX_OK;
}

static void node_release(adx_node *n) {
  free(n->name);
  free(n->op_type);
  free(n->in);
  free(n->out);
  for (int k = 0; k < n->nattrs; k++) {
    adx_attr *a = &n->attrs[k];
    free(a->name);
    free(a->s);
    free(a->floats);
    free(a->ints);
    adx_tensor_free(&a->t);
  }
  free(n->attrs);
  if (n->op && n->op->release && n->params) n->op->release(n->params);
  adx_free(n->params);
  memset(n, 0, sizeof *n);
}

/* Pass 6: drop dead nodes from the list and release constants nothing reads any more. */
static void compact(adx_graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i].dead) {
      node_release(&g->nodes[i]);
      continue;
    }
    if (k != i) g->nodes[k] = g->nodes[i];
    k++;
  }
  g->nnodes = k;
  recount(g);
  for (int i = 0; i < g->nvalues; i++) {
    adx_value *v = &g->values[i];
    /* Orphaned constants (folded-away inputs, BatchNorm statistics) keep their shape but free their data. */
    if (v->is_const && v->nconsumers == 0 && !v->is_output && v->cval.owns_data) {
      adx_free(v->cval.data);
      v->cval.data = NULL;
      v->cval.owns_data = 0;
    }
  }
}

adx_status adx_graph_prepare(adx_graph *g, adx_error *err) {
  adx_status s;
  if ((s = infer_and_fold(g, err))) return s;
  if ((s = fold_batchnorm(g, err))) return s;
  remove_passthrough(g);
  mark_unused(g);
  if ((s = fuse_nodes(g, err))) return s;
  compact(g);
  return adx_graph_infer(g, g->declared_batch, err);
}
