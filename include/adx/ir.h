/* adx IR, the lowest layer above core (src/ir/): the graph's values, nodes and attributes, and the operator
 * interface (adx_op) that the operators of src/ops/ implement. model/ builds and rewrites graphs of this
 * IR from ONNX files and ops/ defines the operators; neither includes the other. The engine runs a graph.
 * Adding an operator = one file in src/ops/, one line in ADX_OP_LIST (src/ops/ops.h), tests. */
#ifndef ADX_IR_H
#define ADX_IR_H

#include "adx/core.h"

struct adx_graph;
struct adx_node;

/* Attribute types use ONNX AttributeProto.AttributeType numbers. */
typedef enum adx_attr_type {
  ADX_ATTR_FLOAT = 1,
  ADX_ATTR_INT = 2,
  ADX_ATTR_STRING = 3,
  ADX_ATTR_TENSOR = 4,
  ADX_ATTR_FLOATS = 6,
  ADX_ATTR_INTS = 7
} adx_attr_type;

typedef struct adx_attr {
  char *name;
  adx_attr_type type;
  float f;
  int64_t i;
  char *s;
  int n; /* element count for FLOATS / INTS */
  float *floats;
  int64_t *ints;
  adx_tensor t; /* for TENSOR (owns its data) */
} adx_attr;

/* A value is an edge of the graph: a graph input, an initializer, or a node output. */
typedef struct adx_value {
  char *name;
  adx_dtype dtype;
  int ndim;
  int64_t dims[ADX_MAX_DIMS]; /* at the graph's current batch size (g->batch) */
  int batched;                /* dim 0 is the batch dimension (derived from a graph input) */
  int is_const;               /* known at load time: initializer or folded */
  adx_tensor cval;            /* the constant, when is_const */
  int producer;               /* node index, or -1 */
  int nconsumers;
  int is_input, is_output;
} adx_value;

/* Spatial window geometry of a conv/pool node (used by AD mask propagation and by FLOP counts). */
typedef struct adx_window {
  int kh, kw;   /* kernel */
  int sh, sw;   /* strides */
  int ph0, pw0; /* pads at the start (top, left) */
  int ph1, pw1; /* pads at the end (bottom, right) */
  int dh, dw;   /* dilations */
} adx_window;

/* How an operator carries a visibility mask in AD mode: the key of AD's rule table (src/ad/run.c,
 * docs/ad.md). Adding an AD-aware operator means setting its kind here, or one new kind and one row. */
typedef enum adx_ad_kind {
  ADX_AD_PLAIN = 0,  /* not spatial (after flatten/pooling): computed plainly, no mask */
  ADX_AD_POINTWISE,  /* output mask = input mask (Relu, Clip, Sigmoid, BN, Mul by a constant, ...) */
  ADX_AD_CONV,       /* Conv: window propagation; hidden inputs contribute nothing; --ad-renorm */
  ADX_AD_POOL,       /* MaxPool, AveragePool: window propagation; hidden inputs left out */
  ADX_AD_COMBINE,    /* two spatial inputs (residual Add, Mul, ...): combine the masks */
  ADX_AD_CONCAT,     /* concat along channels: a mask per input, combined per output position */
  ADX_AD_GLOBALPOOL, /* GlobalAveragePool / ReduceMean over H,W: --ad-pool active|all */
  ADX_AD_GLOBALMAX,  /* GlobalMaxPool: the maximum over active positions */
  ADX_AD_PAD,        /* Pad: a constant border is active; other modes end the mask */
  ADX_AD_FALLBACK,   /* spatial structure AD cannot follow (e.g. Flatten of a spatial map) */
  ADX_AD_NKINDS
} adx_ad_kind;

/* Context handed to an operator's run(). */
typedef struct adx_op_ctx {
  void *scratch; /* at least op->scratch() bytes, 64-byte aligned */
  size_t scratch_bytes;
  int threads; /* OpenMP threads the op may use */
  int lib;     /* 1: library kernels (oneDNN) where the op has them; 0: the BLAS reference path */
  /* Per value index: 0 when the value is stored as NCHW (every value, when this is NULL), else the block
   * size B of the library's blocked layout nChw<B>c (per sample [C/B][H][W][B]) it is stored in. Only the
   * engine's plain runner sets it, and only for values whose producer and consumers all take that layout
   * (engine.c, the layout plan). */
  const uint8_t *blocked;
} adx_op_ctx;

typedef struct adx_op {
  const char *name; /* ONNX op_type */
  int min_in, max_in, min_out, max_out;
  /* Parse attributes (into node->params), validate inputs, and set every output value's
   * dtype/ndim/dims/batched from the inputs' current shapes. Called at load time and again
   * whenever the batch size changes, so it must be idempotent. May read constant inputs.
   * May mark an output constant itself (e.g. Shape). */
  adx_status (*infer)(struct adx_graph *g, struct adx_node *n, adx_error *err);
  /* Compute outputs from inputs. in[i] is NULL for an absent optional input. Output tensors
   * already have dtype, dims and data sized from infer(). */
  adx_status (*run)(const struct adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                    adx_op_ctx *ctx, adx_error *err);
  /* Scratch bytes run() needs at the current shapes with `threads` threads (NULL: none). */
  size_t (*scratch)(const struct adx_graph *g, const struct adx_node *n, int threads);
  /* Floating-point operations for the current shapes, whole batch (NULL: 0). MAC = 2 flops. */
  double (*flops)(const struct adx_graph *g, const struct adx_node *n);
  adx_ad_kind ad;
  /* For ADX_AD_CONV and ADX_AD_POOL: fill the window geometry (valid after infer). */
  void (*window)(const struct adx_node *n, adx_window *w);
  /* Fusion (NULL: the operator absorbs nothing). Asked by the load-time fusion pass when `next` is the only
   * reader of n's only output: ADX_OK when n has taken next's computation over (the pass then reroutes the
   * graph so that n produces next's output and drops next), ADX_ERR_UNSUPPORTED to leave both as they are
   * (next is not an operation n can absorb, or not with these inputs), any other code for a failure. */
  adx_status (*fuse)(const struct adx_graph *g, struct adx_node *n, const struct adx_node *next,
                     adx_error *err);
  /* Release what node->params owns besides itself (NULL: nothing); node->params is then freed. */
  void (*release)(void *params);
} adx_op;

typedef struct adx_node {
  char *name;
  char *op_type;
  const adx_op *op;
  int nin, nout;
  int *in;  /* value indices; -1 = absent optional input */
  int *out; /* value indices */
  int nattrs;
  adx_attr *attrs;
  void *params; /* op-owned parsed attributes; released with adx_free() */
  int dead;     /* removed by a graph pass (folded, fused) */
} adx_node;

typedef struct adx_graph {
  char *path;     /* model file */
  char *name;     /* graph name */
  char *producer; /* producer_name + version */
  int64_t opset;  /* default-domain opset */
  int64_t ir_version;
  int nvalues, cap_values;
  adx_value *values;
  int nnodes, cap_nodes;
  adx_node *nodes; /* topological order */
  int ninputs, noutputs;
  int *inputs;            /* value indices of non-constant graph inputs */
  int *outputs;           /* value indices of graph outputs */
  int64_t declared_batch; /* dim 0 of the first input as the model declares it (1 if symbolic) */
  int64_t batch;          /* batch size the current shapes are inferred for */
  /* Caps from adx_model_limits (0: none): elements of one inferred value (per image when batched), checked
   * by shape inference; activation + scratch bytes of one batch, checked by the engine before allocating. */
  int64_t max_value_elems, max_activation_bytes;
  int nmeta;   /* the model's metadata_props */
  char **meta; /* [2 * nmeta]: key, value, key, value, ... */
} adx_graph;

/* Value of the model's metadata_props entry `key`, or NULL. */
const char *adx_graph_meta(const adx_graph *g, const char *key);

/* ---- the operator set ----
 * An interface of the IR, defined by the operator layer (src/ops/registry.c): adx_graph_add_node binds each
 * node to its operator through it and adx_op_check checks an operator and its arity with it, so the layer
 * that builds graphs (model/) never looks an operator up itself. */
/* The operator for an ONNX op_type, or NULL when adx has none. */
const adx_op *adx_op_find(const char *op_type);
/* NULL-terminated list of supported operator names. */
const char *const *adx_op_names(void);
/* Whether adx has operator op_type, taking nin inputs and giving nout outputs (absent trailing ones not
 * counted): ADX_ERR_UNSUPPORTED naming node and listing the supported operators when it has none, else
 * ADX_ERR_FORMAT (too few) or ADX_ERR_UNSUPPORTED (too many) for a wrong count. */
adx_status adx_op_check(const char *node, const char *op_type, int nin, int nout, adx_error *err);

/* ---- node helpers for operators ---- */
static inline adx_value *adx_node_in(struct adx_graph *g, const adx_node *n, int i) {
  return (i < n->nin && n->in[i] >= 0) ? &g->values[n->in[i]] : (adx_value *)0;
}
static inline adx_value *adx_node_out(struct adx_graph *g, const adx_node *n, int i) {
  return &g->values[n->out[i]];
}
const adx_attr *adx_attr_get(const adx_node *n, const char *name);
int64_t adx_attr_int(const adx_node *n, const char *name, int64_t def);
float adx_attr_float(const adx_node *n, const char *name, float def);
const char *adx_attr_str(const adx_node *n, const char *name, const char *def);
/* Number of ints (and *v), or -1 when absent. */
int adx_attr_ints(const adx_node *n, const char *name, const int64_t **v);

/* Set a value's shape. */
void adx_value_set(adx_value *v, adx_dtype dtype, int ndim, const int64_t *dims, int batched);
int64_t adx_value_numel(const adx_value *v);
/* Error naming the node: "node 'conv1' (Conv): <msg>". */
adx_status adx_node_fail(const adx_node *n, adx_error *err, adx_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- graph construction (used by the ONNX loader and by tests building graphs by hand) ---- */
adx_graph *adx_graph_new(void);
void adx_graph_free(adx_graph *g);
/* Find or add a value by name; returns its index, -1 on allocation failure. */
int adx_graph_value(adx_graph *g, const char *name);
int adx_graph_find_value(const adx_graph *g, const char *name);
/* Append a node; returns its index or -1. Copies names; attrs are taken over (ownership moves). */
int adx_graph_add_node(adx_graph *g, const char *name, const char *op_type, int nin, const int *in, int nout,
                       const int *out, int nattrs, adx_attr *attrs);
/* Infer every non-constant value's shape for batch size `batch` (graph inputs' dim 0 := batch). A negative
 * dimension -> ADX_ERR_SHAPE; a value over g->max_value_elems elements (per image) -> ADX_ERR_LIMIT. */
adx_status adx_graph_infer(adx_graph *g, int64_t batch, adx_error *err);
/* The checks adx_graph_infer applies to the outputs of node n after its infer() (also used by the
 * load-time passes). */
adx_status adx_graph_check_outputs(const adx_graph *g, const adx_node *n, adx_error *err);
/* Parameter count (elements of float constants consumed by live nodes) and FLOPs per image. */
int64_t adx_graph_params(const adx_graph *g);
double adx_graph_flops(adx_graph *g);

#endif
