/* Graph construction, attribute access and shape inference over the node list. */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ir.h"

static char *dupstr(const char *s) {
  if (!s) s = "";
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

adx_graph *adx_graph_new(void) {
  adx_graph *g = calloc(1, sizeof *g);
  if (g) {
    g->declared_batch = 1;
    g->batch = 1;
  }
  return g;
}

static void attr_free(adx_attr *a) {
  free(a->name);
  free(a->s);
  free(a->floats);
  free(a->ints);
  adx_tensor_free(&a->t);
}

void adx_graph_free(adx_graph *g) {
  if (!g) return;
  for (int i = 0; i < g->nvalues; i++) {
    free(g->values[i].name);
    adx_tensor_free(&g->values[i].cval);
  }
  for (int i = 0; i < g->nnodes; i++) {
    adx_node *n = &g->nodes[i];
    free(n->name);
    free(n->op_type);
    free(n->in);
    free(n->out);
    for (int k = 0; k < n->nattrs; k++) attr_free(&n->attrs[k]);
    free(n->attrs);
    if (n->op && n->op->release && n->params) n->op->release(n->params);
    adx_free(n->params);
  }
  for (int i = 0; i < 2 * g->nmeta; i++) free(g->meta[i]);
  free(g->meta);
  free(g->values);
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  free(g->path);
  free(g->name);
  free(g->producer);
  free(g);
}

int adx_graph_find_value(const adx_graph *g, const char *name) {
  for (int i = 0; i < g->nvalues; i++)
    if (!strcmp(g->values[i].name, name)) return i;
  return -1;
}

int adx_graph_value(adx_graph *g, const char *name) {
  int i = adx_graph_find_value(g, name);
  if (i >= 0) return i;
  if (g->nvalues == g->cap_values) {
    int cap = g->cap_values ? 2 * g->cap_values : 64;
    adx_value *v = realloc(g->values, (size_t)cap * sizeof *v);
    if (!v) return -1;
    g->values = v;
    g->cap_values = cap;
  }
  adx_value *v = &g->values[g->nvalues];
  memset(v, 0, sizeof *v);
  v->name = dupstr(name);
  if (!v->name) return -1;
  v->producer = -1;
  v->dtype = ADX_F32;
  return g->nvalues++;
}

int adx_graph_add_node(adx_graph *g, const char *name, const char *op_type, int nin, const int *in, int nout,
                       const int *out, int nattrs, adx_attr *attrs) {
  if (g->nnodes == g->cap_nodes) {
    int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
    adx_node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
    if (!nn) return -1;
    g->nodes = nn;
    g->cap_nodes = cap;
  }
  adx_node *n = &g->nodes[g->nnodes];
  memset(n, 0, sizeof *n);
  n->name = dupstr(name);
  n->op_type = dupstr(op_type);
  n->in = malloc(sizeof(int) * (size_t)(nin ? nin : 1));
  n->out = malloc(sizeof(int) * (size_t)(nout ? nout : 1));
  if (!n->name || !n->op_type || !n->in || !n->out) {
    free(n->name);
    free(n->op_type);
    free(n->in);
    free(n->out);
    return -1;
  }
  n->nin = nin;
  n->nout = nout;
  if (nin) memcpy(n->in, in, sizeof(int) * (size_t)nin);
  if (nout) memcpy(n->out, out, sizeof(int) * (size_t)nout);
  n->nattrs = nattrs;
  n->attrs = attrs;
  n->op = adx_op_find(op_type);
  int idx = g->nnodes++;
  for (int k = 0; k < nout; k++)
    if (out[k] >= 0) g->values[out[k]].producer = idx;
  for (int k = 0; k < nin; k++)
    if (in[k] >= 0) g->values[in[k]].nconsumers++;
  return idx;
}

const adx_attr *adx_attr_get(const adx_node *n, const char *name) {
  for (int i = 0; i < n->nattrs; i++)
    if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
  return NULL;
}

int64_t adx_attr_int(const adx_node *n, const char *name, int64_t def) {
  const adx_attr *a = adx_attr_get(n, name);
  return (a && a->type == ADX_ATTR_INT) ? a->i : def;
}

float adx_attr_float(const adx_node *n, const char *name, float def) {
  const adx_attr *a = adx_attr_get(n, name);
  if (a && a->type == ADX_ATTR_FLOAT) return a->f;
  if (a && a->type == ADX_ATTR_INT) return (float)a->i;
  return def;
}

const char *adx_attr_str(const adx_node *n, const char *name, const char *def) {
  const adx_attr *a = adx_attr_get(n, name);
  return (a && a->type == ADX_ATTR_STRING && a->s) ? a->s : def;
}

int adx_attr_ints(const adx_node *n, const char *name, const int64_t **v) {
  const adx_attr *a = adx_attr_get(n, name);
  if (!a || a->type != ADX_ATTR_INTS) return -1;
  *v = a->ints;
  return a->n;
}

const char *adx_graph_meta(const adx_graph *g, const char *key) {
  for (int i = 0; i < g->nmeta; i++)
    if (!strcmp(g->meta[2 * i], key)) return g->meta[2 * i + 1];
  return NULL;
}

void adx_value_set(adx_value *v, adx_dtype dtype, int ndim, const int64_t *dims, int batched) {
  v->dtype = dtype;
  v->ndim = ndim;
  for (int i = 0; i < ndim; i++) v->dims[i] = dims[i];
  v->batched = batched;
}

int64_t adx_value_numel(const adx_value *v) {
  int64_t n = 1;
  for (int i = 0; i < v->ndim; i++) n *= v->dims[i];
  return n;
}

adx_status adx_node_fail(const adx_node *n, adx_error *err, adx_status code, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return adx_fail(err, code, "node '%s' (%s): %s", n->name, n->op_type, msg);
}

adx_status adx_graph_check_outputs(const adx_graph *g, const adx_node *n, adx_error *err) {
  for (int k = 0; k < n->nout; k++) {
    if (n->out[k] < 0) continue;
    const adx_value *v = &g->values[n->out[k]];
    if (v->is_const) continue; /* folded constants were sized (and capped) when allocated */
    char ds[160];
    if (v->ndim < 0 || v->ndim > ADX_MAX_DIMS)
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "output '%s' has rank %d", v->name, v->ndim);
    int64_t per = 1, cap = g->max_value_elems > 0 ? g->max_value_elems : INT64_MAX / 16;
    for (int d = 0; d < v->ndim; d++) {
      if (v->dims[d] < 0)
        return adx_node_fail(n, err, ADX_ERR_SHAPE, "output '%s' has a negative dimension: %s", v->name,
                             adx_dims_str(v->dims, v->ndim, ds, sizeof ds));
      if (d == 0 && v->batched) continue; /* the cap is per image */
      if (v->dims[d] > cap || (v->dims[d] && per > cap / v->dims[d]))
        return adx_node_fail(n, err, ADX_ERR_LIMIT,
                             "output '%s' would have shape %s: over the limit of %lld elements per image "
                             "(max_tensor_elems)",
                             v->name, adx_dims_str(v->dims, v->ndim, ds, sizeof ds), (long long)cap);
      per *= v->dims[d];
    }
  }
  return ADX_OK;
}

adx_status adx_graph_infer(adx_graph *g, int64_t batch, adx_error *err) {
  if (batch < 1) return adx_fail(err, ADX_ERR_ARG, "batch size %lld must be at least 1", (long long)batch);
  g->batch = batch;
  for (int i = 0; i < g->ninputs; i++) {
    adx_value *v = &g->values[g->inputs[i]];
    if (v->batched && v->ndim > 0) v->dims[0] = batch;
  }
  for (int i = 0; i < g->nnodes; i++) {
    adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (!n->op)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "operator '%s' is not supported", n->op_type);
    for (int k = 0; k < n->nin; k++) {
      if (n->in[k] >= 0 && g->values[n->in[k]].ndim < 0)
        return adx_node_fail(n, err, ADX_ERR_SHAPE, "input '%s' has no known shape",
                             g->values[n->in[k]].name);
    }
    adx_status s = n->op->infer(g, n, err);
    if (!s) s = adx_graph_check_outputs(g, n, err);
    if (s) return s;
  }
  return ADX_OK;
}

int64_t adx_graph_params(const adx_graph *g) {
  int64_t total = 0;
  for (int i = 0; i < g->nvalues; i++) {
    const adx_value *v = &g->values[i];
    if (v->is_const && v->dtype == ADX_F32 && v->nconsumers > 0) total += adx_tensor_numel(&v->cval);
  }
  return total;
}

double adx_graph_flops(adx_graph *g) {
  double f = 0;
  for (int i = 0; i < g->nnodes; i++) {
    adx_node *n = &g->nodes[i];
    if (!n->dead && n->op && n->op->flops) f += n->op->flops(g, n);
  }
  return g->batch > 0 ? f / (double)g->batch : f;
}

adx_status adx_op_check(const char *node, const char *op_type, int nin, int nout, adx_error *err) {
  const adx_op *o = adx_op_find(op_type);
  if (!o) {
    char list[640];
    size_t k = 0;
    list[0] = '\0';
    for (const char *const *nm = adx_op_names(); *nm && k < sizeof list; nm++)
      k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", k ? ", " : "", *nm);
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "node '%s' uses unsupported operator '%s' (supported: %s)",
                    node, op_type, list);
  }
  if (nin < o->min_in || (o->max_in >= 0 && nin > o->max_in))
    return adx_fail(err, nin < o->min_in ? ADX_ERR_FORMAT : ADX_ERR_UNSUPPORTED,
                    "node '%s' (%s) has %d inputs; adx's %s takes %d to %d", node, op_type, nin, op_type,
                    o->min_in, o->max_in);
  if (nout < o->min_out || (o->max_out >= 0 && nout > o->max_out))
    return adx_fail(err, nout < o->min_out ? ADX_ERR_FORMAT : ADX_ERR_UNSUPPORTED,
                    "node '%s' (%s) has %d outputs; adx's %s gives %d to %d", node, op_type, nout, op_type,
                    o->min_out, o->max_out);
  return ADX_OK;
}
