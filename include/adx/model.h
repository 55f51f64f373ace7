/* adx model loading: ONNX (protobuf-c, generated from the system onnx.proto) into an adx_graph. */
#ifndef ADX_MODEL_H
#define ADX_MODEL_H

#include "adx/ir.h"

/* Resource caps, checked before anything is allocated; a model over a cap -> ADX_ERR_LIMIT naming the file
 * and the initializer, graph input or node output (and its shape) at fault. */
typedef struct adx_model_limits {
  int64_t max_file_bytes;       /* refuse larger model files (default 2 GiB) */
  int64_t max_tensor_elems;     /* any single tensor: initializer, attribute, graph input or inferred value
                                   (per image for batched values) (default 1<<30) */
  int64_t max_activation_bytes; /* the engine's activation buffers + operator scratch for one batch
                                   (checked when the engine plans a batch; default 16 GiB; <= 0: no cap) */
} adx_model_limits;

#define ADX_MODEL_MAX_TENSOR_ELEMS_DEFAULT ((int64_t)1 << 30)
#define ADX_MODEL_MAX_ACTIVATION_BYTES_DEFAULT ((int64_t)16 << 30)

void adx_model_limits_default(adx_model_limits *l);

/* Load an ONNX model: decode, build the graph, resolve initializers (external data files next to
 * the model too), check every operator is supported, infer shapes, fold constants and BatchNorm.
 * Errors name the file, and the node and operator where relevant. */
adx_status adx_model_load(const char *path, const adx_model_limits *limits, adx_graph **out, adx_error *err);
/* Same, from bytes in memory (path is used in messages and for external data lookup; may be NULL). */
adx_status adx_model_load_mem(const void *buf, size_t len, const char *path, const adx_model_limits *limits,
                              adx_graph **out, adx_error *err);

/* Run the load-time passes (model/passes.c) on a graph built by hand or by the loader: shape inference,
 * constant folding, BatchNorm folding, Identity/Dropout removal, dead-node removal, operator fusion (asked
 * of each operator through its adx_op.fuse hook). */
adx_status adx_graph_prepare(adx_graph *g, adx_error *err);

/* Decode an ONNX TensorProto file (the input_N.pb / output_N.pb of ONNX's test data). */
adx_status adx_tensor_load_pb(const char *path, adx_tensor *t, adx_error *err);

/* ---- cascading model randomisation (model/randomize.c; adx sanity, docs/metrics.md "Sanity checks") ----
 * A parameterised layer is a live Conv, Gemm or MatMul node whose weight (input 1) is a float32 constant; the
 * layers are counted from the output backwards (reverse topological order: level 1 is the node nearest the
 * output). Call on a loaded graph before an engine is built on it (the oneDNN path prepacks weights). */
/* Node indices of the parameterised layers, top first: up to max of them into nodes (may be NULL); returns
 * how many the graph has. */
int adx_model_param_layers(const adx_graph *g, int *nodes, int max);
/* Fan-in of layer node (the inputs one output sums over): C/group * kH * kW for Conv, K for Gemm/MatMul. */
int64_t adx_model_fan_in(const adx_graph *g, int node);
/* Re-initialise the weight and bias (Conv and Gemm input 2, when a constant) of the top `levels` layers,
 * everything else untouched: each value uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default
 * initialisation of Conv2d and Linear), drawn from its own stream seeded adx_seed_mix(seed, 0x5a4e17 + j)
 * for the j-th layer from the top (j = 0, 1, ...): weights first, then the bias. So layer j gets the same
 * values at every level that includes it. levels over the layer count -> ADX_ERR_ARG naming the model. */
adx_status adx_model_randomize(adx_graph *g, int levels, uint64_t seed, adx_error *err);

#endif
