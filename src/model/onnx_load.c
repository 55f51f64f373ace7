/* ONNX model loading: protobuf-c decodes the file (types generated from the system onnx.proto), this
 * file turns the ModelProto into an adx_graph and checks what adx cannot run before anything runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

#define OPSET_MIN 7 /* accepted; documented support is 9..17 */
#define OPSET_MAX 18

void adx_model_limits_default(adx_model_limits *l) {
  l->max_file_bytes = (int64_t)2 << 30;
  l->max_tensor_elems = ADX_MODEL_MAX_TENSOR_ELEMS_DEFAULT;
  l->max_activation_bytes = ADX_MODEL_MAX_ACTIVATION_BYTES_DEFAULT;
}

typedef struct loader {
  adx_graph *g;
  const Onnx__GraphProto *gp;
  const char *base_dir; /* for external data; NULL when loading from memory without a path */
  const adx_model_limits *lim;
} loader;

static char *dupstr(const char *s) { return strdup(s ? s : ""); }

static int is_default_domain(const char *d) { return !d || !d[0] || !strcmp(d, "ai.onnx"); }

static const char *attr_type_name(int t) {
  switch (t) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "GRAPH";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return "SPARSE_TENSOR";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return "TYPE_PROTO";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return "STRINGS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "TENSORS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "GRAPHS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return "SPARSE_TENSORS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return "TYPE_PROTOS";
  default: return "UNDEFINED";
  }
}

/* Attribute type, guessed from the fields present when an old exporter left it out. */
static int attr_type(const Onnx__AttributeProto *a) {
  if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) return a->type;
  if (a->has_f) return ADX_ATTR_FLOAT;
  if (a->has_i) return ADX_ATTR_INT;
  if (a->has_s) return ADX_ATTR_STRING;
  if (a->t) return ADX_ATTR_TENSOR;
  if (a->n_floats) return ADX_ATTR_FLOATS;
  if (a->n_ints) return ADX_ATTR_INTS;
  if (a->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
  return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static void attr_release(adx_attr *a) {
  free(a->name);
  free(a->s);
  free(a->floats);
  free(a->ints);
  adx_tensor_free(&a->t);
  memset(a, 0, sizeof *a);
}

/* A malloc'd copy of n elements of es bytes (room for one at least), or NULL. */
static void *dup_array(const void *src, size_t n, size_t es) {
  void *d = malloc(es * (n ? n : 1));
  if (d && n) memcpy(d, src, es * n);
  return d;
}

static adx_status convert_attr(const loader *L, const char *node, const char *op,
                               const Onnx__AttributeProto *a, adx_attr *out, adx_error *err) {
  memset(out, 0, sizeof *out);
  const char *an = a->name ? a->name : "";
  int t = attr_type(a);
  if (!(out->name = dupstr(an))) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  out->type = (adx_attr_type)t;
  switch (t) {
  case ADX_ATTR_FLOAT: out->f = a->f; return ADX_OK;
  case ADX_ATTR_INT: out->i = a->i; return ADX_OK;
  case ADX_ATTR_STRING:
    out->s = malloc(a->s.len + 1);
    if (!out->s) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    if (a->s.len) memcpy(out->s, a->s.data, a->s.len);
    out->s[a->s.len] = '\0';
    return ADX_OK;
  case ADX_ATTR_TENSOR:
    if (!a->t)
      return adx_fail(err, ADX_ERR_FORMAT, "node '%s' (%s): attribute '%s' has no tensor", node, op, an);
    if (adx_model_tensor_decode(a->t, L->base_dir, L->lim->max_tensor_elems, &out->t, err))
      return adx_error_prefix(err, "node '%s' (%s): attribute '%s': ", node, op, an);
    return ADX_OK;
  case ADX_ATTR_FLOATS:
    out->n = (int)a->n_floats;
    out->floats = dup_array(a->floats, a->n_floats, sizeof(float));
    return out->floats ? ADX_OK : adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  case ADX_ATTR_INTS:
    out->n = (int)a->n_ints;
    out->ints = dup_array(a->ints, a->n_ints, sizeof(int64_t));
    return out->ints ? ADX_OK : adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  default:
    return adx_fail(err, ADX_ERR_UNSUPPORTED,
                    "node '%s' (%s): attribute '%s' has type %s, which adx does not support", node, op, an,
                    attr_type_name(t));
  }
}

/* A value is defined once it is an initializer, a graph input or the output of an earlier node. */
static int is_defined(const adx_graph *g, int v) {
  const adx_value *x = &g->values[v];
  return x->is_const || x->is_input || x->producer >= 0;
}

/* Count of names after dropping trailing empty ones (absent optional inputs/outputs). */
static int trimmed_count(char **names, size_t n) {
  while (n > 0 && (!names[n - 1] || !names[n - 1][0])) n--;
  return (int)n;
}

/* Check every node's domain, operator and arity before decoding any weights. */
static adx_status check_nodes(const loader *L, adx_error *err) {
  const Onnx__GraphProto *gp = L->gp;
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *np = gp->node[i];
    const char *op = np->op_type ? np->op_type : "";
    char fallback[128];
    snprintf(fallback, sizeof fallback, "%s_%zu", op, i);
    const char *name = (np->name && np->name[0]) ? np->name : fallback;
    if (!is_default_domain(np->domain))
      return adx_fail(
          err, ADX_ERR_UNSUPPORTED,
          "node '%s' uses operator '%s' from domain '%s'; adx supports only the default ONNX domain", name,
          op, np->domain);
    adx_status s = adx_op_check(name, op, trimmed_count(np->input, np->n_input),
                                trimmed_count(np->output, np->n_output), err);
    if (s) return s;
  }
  return ADX_OK;
}

static adx_status add_initializers(const loader *L, adx_error *err) {
  adx_graph *g = L->g;
  for (size_t i = 0; i < L->gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = L->gp->initializer[i];
    if (!tp->name || !tp->name[0]) return adx_fail(err, ADX_ERR_FORMAT, "initializer %zu has no name", i);
    if (adx_graph_find_value(g, tp->name) >= 0)
      return adx_fail(err, ADX_ERR_FORMAT, "initializer '%s' is defined twice", tp->name);
    int idx = adx_graph_value(g, tp->name);
    if (idx < 0) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    adx_value *v = &g->values[idx];
    adx_status s = adx_model_tensor_decode(tp, L->base_dir, L->lim->max_tensor_elems, &v->cval, err);
    if (s) return adx_error_prefix(err, "initializer ");
    adx_value_set(v, v->cval.dtype, v->cval.ndim, v->cval.dims, 0);
    v->is_const = 1;
  }
  return ADX_OK;
}

static adx_status add_input(const loader *L, const Onnx__ValueInfoProto *vi, int first, adx_error *err) {
  adx_graph *g = L->g;
  const char *name = vi->name ? vi->name : "";
  if (!name[0]) return adx_fail(err, ADX_ERR_FORMAT, "a graph input has no name");
  int idx = adx_graph_find_value(g, name);
  if (idx >= 0 && g->values[idx].is_const)
    return ADX_OK; /* an initializer listed as input (IR < 4): a constant */
  if (idx >= 0) return adx_fail(err, ADX_ERR_FORMAT, "graph input '%s' is listed twice", name);
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "graph input '%s' is not a tensor", name);
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  if (!tt->has_elem_type || tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "graph input '%s' has element type %d; adx needs float (1)",
                    name, tt->has_elem_type ? (int)tt->elem_type : 0);
  if (!tt->shape) return adx_fail(err, ADX_ERR_UNSUPPORTED, "graph input '%s' has no shape", name);
  if (tt->shape->n_dim > ADX_MAX_DIMS)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "graph input '%s' has rank %zu, over %d", name,
                    tt->shape->n_dim, ADX_MAX_DIMS);
  int nd = (int)tt->shape->n_dim;
  int64_t dims[ADX_MAX_DIMS];
  for (int k = 0; k < nd; k++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
    int fixed = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    if (k == 0) { /* the batch: symbolic or missing means "any", shown as 1 until the engine picks one */
      dims[0] = (fixed && d->dim_value > 0) ? d->dim_value : 1;
      if (first) g->declared_batch = dims[0];
      continue;
    }
    if (!fixed) {
      const char *p = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param
                          ? d->dim_param
                          : "";
      return adx_fail(
          err, ADX_ERR_UNSUPPORTED,
          "graph input '%s': dimension %d is symbolic ('%s'); adx needs fixed sizes except the batch", name,
          k, p);
    }
    if (d->dim_value < 1 || d->dim_value > L->lim->max_tensor_elems)
      return adx_fail(err, ADX_ERR_FORMAT, "graph input '%s': dimension %d is %lld", name, k,
                      (long long)d->dim_value);
    dims[k] = d->dim_value;
  }
  int64_t per_image =
      1; /* dims are each <= max_tensor_elems, so the product cannot overflow before the check */
  for (int k = 1; k < nd; k++) {
    per_image *= dims[k];
    if (per_image > L->lim->max_tensor_elems) {
      char ds[128];
      return adx_fail(err, ADX_ERR_LIMIT,
                      "graph input '%s' has shape %s: over the limit of %lld elements per image "
                      "(max_tensor_elems)",
                      name, adx_dims_str(dims, nd, ds, sizeof ds), (long long)L->lim->max_tensor_elems);
    }
  }
  idx = adx_graph_value(g, name);
  int *ins = realloc(g->inputs, sizeof(int) * (size_t)(g->ninputs + 1));
  if (idx < 0 || !ins) {
    if (ins) g->inputs = ins;
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  }
  g->inputs = ins;
  g->inputs[g->ninputs++] = idx;
  adx_value *v = &g->values[idx];
  adx_value_set(v, ADX_F32, nd, dims, nd >= 1);
  v->is_input = 1;
  return ADX_OK;
}

static adx_status add_node(const loader *L, size_t i, adx_error *err) {
  adx_graph *g = L->g;
  const Onnx__NodeProto *np = L->gp->node[i];
  const char *op = np->op_type ? np->op_type : "";
  char name[256];
  if (np->name && np->name[0])
    snprintf(name, sizeof name, "%s", np->name);
  else
    snprintf(name, sizeof name, "%s_%zu", op, i);
  int nin = trimmed_count(np->input, np->n_input), nout = trimmed_count(np->output, np->n_output);
  int *in = malloc(sizeof(int) * (size_t)(nin + nout + 1));
  if (!in) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  int *out = in + nin;
  adx_status s = ADX_OK;
  for (int k = 0; k < nin && !s; k++) {
    const char *vn = np->input[k];
    if (!vn || !vn[0]) {
      in[k] = -1; /* absent optional input */
      continue;
    }
    in[k] = adx_graph_find_value(g, vn);
    if (in[k] < 0 || !is_defined(g, in[k]))
      s = adx_fail(
          err, ADX_ERR_FORMAT,
          "node '%s' (%s): input '%s' is not defined before use (missing, or nodes not in topological order)",
          name, op, vn);
  }
  for (int k = 0; k < nout && !s; k++) {
    char unused[300];
    const char *vn = np->output[k];
    if (!vn || !vn[0]) { /* an absent output between present ones: give it a private name */
      snprintf(unused, sizeof unused, "%s/unused_output_%d", name, k);
      vn = unused;
    }
    int idx = adx_graph_find_value(g, vn);
    if (idx >= 0 && is_defined(g, idx))
      s = adx_fail(err, ADX_ERR_FORMAT, "node '%s' (%s): output '%s' is already defined", name, op, vn);
    else if ((out[k] = adx_graph_value(g, vn)) < 0)
      s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    else
      g->values[out[k]].producer =
          (int)g->nnodes; /* defined now: later outputs of this node may not reuse it */
    for (int j = 0; j < k && !s; j++)
      if (out[j] == out[k])
        s = adx_fail(err, ADX_ERR_FORMAT, "node '%s' (%s): output '%s' is listed twice", name, op, vn);
  }
  int na = (int)np->n_attribute;
  adx_attr *attrs = NULL;
  if (!s && na > 0 && !(attrs = calloc((size_t)na, sizeof *attrs)))
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  int done = 0;
  for (; done < na && !s; done++) s = convert_attr(L, name, op, np->attribute[done], &attrs[done], err);
  if (!s && adx_graph_add_node(g, name, op, nin, in, nout, out, na, attrs) < 0)
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  if (s) {
    for (int k = 0; k < done; k++) attr_release(&attrs[k]);
    free(attrs);
  }
  free(in);
  return s;
}

static adx_status add_outputs(const loader *L, adx_error *err) {
  adx_graph *g = L->g;
  if (L->gp->n_output == 0) return adx_fail(err, ADX_ERR_FORMAT, "the graph has no outputs");
  g->outputs = malloc(sizeof(int) * L->gp->n_output);
  if (!g->outputs) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < L->gp->n_output; i++) {
    const char *name = L->gp->output[i]->name ? L->gp->output[i]->name : "";
    int idx = adx_graph_find_value(g, name);
    if (idx < 0 || !is_defined(g, idx))
      return adx_fail(err, ADX_ERR_FORMAT, "graph output '%s' is not produced by any node", name);
    g->values[idx].is_output = 1;
    g->outputs[g->noutputs++] = idx;
  }
  return ADX_OK;
}

static adx_status build(const Onnx__ModelProto *m, adx_graph *g, const char *path,
                        const adx_model_limits *lim, adx_error *err) {
  const Onnx__GraphProto *gp = m->graph;
  int64_t opset = -1;
  for (size_t i = 0; i < m->n_opset_import; i++)
    if (is_default_domain(m->opset_import[i]->domain) && m->opset_import[i]->has_version)
      opset = m->opset_import[i]->version;
  if (opset < 0) return adx_fail(err, ADX_ERR_FORMAT, "the model imports no default-domain opset");
  if (opset < OPSET_MIN || opset > OPSET_MAX)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "opset %lld is not supported (adx supports opsets 9 to 17)",
                    (long long)opset);
  g->opset = opset;
  g->max_value_elems = lim->max_tensor_elems > 0 ? lim->max_tensor_elems : 0;
  g->max_activation_bytes = lim->max_activation_bytes > 0 ? lim->max_activation_bytes : 0;
  g->ir_version = m->has_ir_version ? m->ir_version : 0;
  g->path = dupstr(path);
  g->name = dupstr(gp->name);
  size_t plen = strlen(m->producer_name ? m->producer_name : "") +
                strlen(m->producer_version ? m->producer_version : "") + 2;
  g->producer = malloc(plen);
  if (!g->path || !g->name || !g->producer) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  snprintf(g->producer, plen, "%s%s%s", m->producer_name ? m->producer_name : "",
           (m->producer_name && m->producer_name[0] && m->producer_version && m->producer_version[0]) ? " "
                                                                                                      : "",
           m->producer_version ? m->producer_version : "");

  if (m->n_metadata_props > 65536)
    return adx_fail(err, ADX_ERR_LIMIT, "%zu metadata_props (at most 65536)", m->n_metadata_props);
  if (m->n_metadata_props) { /* kept as text: adx_graph_meta (preprocessing: adx_preproc_from_model) */
    g->meta = calloc(2 * m->n_metadata_props, sizeof *g->meta);
    if (!g->meta) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    g->nmeta = (int)m->n_metadata_props;
    for (size_t i = 0; i < m->n_metadata_props; i++) {
      const Onnx__StringStringEntryProto *e = m->metadata_props[i];
      g->meta[2 * i] = strdup(e->key ? e->key : "");
      g->meta[2 * i + 1] = strdup(e->value ? e->value : "");
      if (!g->meta[2 * i] || !g->meta[2 * i + 1]) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    }
  }
  loader L = {g, gp, NULL, lim};
  char *dir = path ? adx_path_dir(path) : NULL;
  if (path && !dir) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  L.base_dir = dir;
  adx_status s = check_nodes(&L, err);
  if (!s) s = add_initializers(&L, err);
  for (size_t i = 0; i < gp->n_input && !s; i++) s = add_input(&L, gp->input[i], g->ninputs == 0, err);
  if (!s && g->ninputs == 0) s = adx_fail(err, ADX_ERR_FORMAT, "the graph has no (non-initializer) inputs");
  for (size_t i = 0; i < gp->n_node && !s; i++) s = add_node(&L, i, err);
  if (!s) s = add_outputs(&L, err);
  free(dir);
  return s;
}

adx_status adx_model_load_mem(const void *buf, size_t len, const char *path, const adx_model_limits *limits,
                              adx_graph **out, adx_error *err) {
  adx_model_limits def;
  if (!limits) {
    adx_model_limits_default(&def);
    limits = &def;
  }
  adx_error local;
  if (!err) err = &local;
  const char *where = path ? path : "<memory>";
  *out = NULL;
  if (limits->max_file_bytes >= 0 && (uint64_t)len > (uint64_t)limits->max_file_bytes)
    return adx_fail(err, ADX_ERR_LIMIT, "%s: model is %zu bytes, over the limit of %lld bytes", where, len,
                    (long long)limits->max_file_bytes);
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
  if (!m) return adx_fail(err, ADX_ERR_FORMAT, "%s: not a valid ONNX model (protobuf decode failed)", where);
  adx_status s;
  adx_graph *g = NULL;
  if (!m->graph || m->graph->n_node == 0)
    s = adx_fail(err, ADX_ERR_FORMAT, "the model has an empty graph");
  else if (!(g = adx_graph_new()))
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  else if (!(s = build(m, g, path, limits, err)))
    s = adx_graph_prepare(g, err);
  onnx__model_proto__free_unpacked(m, NULL);
  if (s) {
    adx_graph_free(g);
    return adx_error_prefix(err, "%s: ", where);
  }
  *out = g;
  return ADX_OK;
}

adx_status adx_model_load(const char *path, const adx_model_limits *limits, adx_graph **out, adx_error *err) {
  adx_model_limits def;
  if (!limits) adx_model_limits_default(&def);
  *out = NULL;
  if (!path) return adx_fail(err, ADX_ERR_ARG, "no model path given");
  uint8_t *buf;
  size_t len;
  adx_status s = adx_file_read(path, (limits ? limits : &def)->max_file_bytes, &buf, &len, err);
  if (s) return s;
  s = adx_model_load_mem(buf, len, path, limits, out, err); /* NULL limits: the defaults again */
  free(buf);
  return s;
}
